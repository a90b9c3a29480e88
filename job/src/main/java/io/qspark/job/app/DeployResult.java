package io.qspark.job.app;

/**
 * What {@link Deploy} wrote: the folder, the per-layer summary (deploy_model.txt's text), the
 * number of deploy layers, and the time to load and to compile.
 */
public record DeployResult(String folder, String summary, int layers, double loadSeconds, double compileSeconds) {}

/**
 * Models as the job's stages handle them: the bytes executors receive
 * ({@link io.qspark.job.model.ModelBlob}) and the per-JVM cache that imports them once, a model's
 * named inputs and outputs ({@link io.qspark.job.model.ModelSignature}), graphs changed on the
 * driver. Spark-free: imports {@code base} and the kernels only, never Spark, Hadoop or picocli.
 */
package io.qspark.job.model;

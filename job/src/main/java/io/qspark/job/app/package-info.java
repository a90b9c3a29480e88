/**
 * The application layer: one service per stage (Calibrate, Finetune, Qat, Deploy, Simulate,
 * Evaluate), each taking immutable settings records and returning a result record, callable
 * from Spark code as the command line calls it. Imports the layers below (output, spark, data,
 * report, eval, model, preprocess, base); never the command line or picocli (PackageStructureTest).
 */
package io.qspark.job.app;

/**
 * Where a job's inputs come from, on any Hadoop file system: image sets (IDX, image folders,
 * Parquet, catalog tables, synthetic) as RDDs of labelled images, checked on the driver before
 * a job starts, and model files (ModelFiles). Imports {@code base}, {@code preprocess} and {@code model}; not the jobs, outputs,
 * reports or the command line.
 */
package io.qspark.job.data;

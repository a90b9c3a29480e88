/**
 * What every package of the job may use: the two failure kinds that decide exit codes
 * ({@link io.qspark.job.base.UserError}, {@link io.qspark.job.base.JobFailure}) and the build's
 * identity ({@link io.qspark.job.base.Build}). Imports nothing of the job, nor Spark or Hadoop.
 */
package io.qspark.job.base;

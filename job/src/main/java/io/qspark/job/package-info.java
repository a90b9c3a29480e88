/**
 * The process entry point, {@link io.qspark.job.Main}, for bin/qspark and spark-submit. It
 * imports the command line ({@code cli}) only; nothing in the job imports this package.
 */
package io.qspark.job;

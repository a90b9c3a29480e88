/**
 * Scoring on one JVM: images to input batches, the model run over them, and the counts the
 * Spark jobs merge (top-1 per class, agreement, simulator mismatches), integers so any merge
 * order gives the same totals. Spark-free: imports {@code base}, {@code preprocess}, {@code model}
 * and the kernels only, never Spark, Hadoop or picocli.
 */
package io.qspark.job.eval;

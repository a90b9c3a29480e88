/**
 * Images as stored and how they become model inputs: pixels and their layout, the resize/crop
 * step, Caffe-style mean/std/raw-scale/channel-swap, and the preprocessing a folder records.
 * Spark-free: imports only {@code base} and the kernels, never Spark, Hadoop or picocli
 * (PackageStructureTest).
 */
package io.qspark.job.preprocess;

/**
 * Running a graph: the executor (topological order, values released after their last reader,
 * an observer that may replace each value), shape inference by running the ops, constant
 * folding of shape arithmetic, batch splitting across threads and the activation-memory bound
 * that sizes mini-batches.
 */
package io.qspark.kernels.exec;

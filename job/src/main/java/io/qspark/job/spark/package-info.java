/**
 * The distributed passes, one class per job (statistics, error, evaluation, simulation, bias
 * correction, AdaQuant, QAT), each a per-partition buffer merged by treeAggregate, and the
 * Spark session of a run. Imports {@code data}, {@code eval}, {@code model}, {@code preprocess} and
 * {@code base}; never outputs, reports, the application layer or the command line.
 */
package io.qspark.job.spark;

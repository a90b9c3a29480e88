package io.qspark.job.spark;

import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function2;

/**
 * Merges one value per partition on the driver, for the jobs an optimizer runs once per step
 * (AdaQuant, AdaRound, QAT). {@code treeAggregate} costs a job about twice what a
 * {@code collect} does in local mode (it cleans two closures and serializes a copy of its zero
 * value per task: 19 ms against 11 ms for a 37,000-weight gradient, {@code SparkJobCostBench},
 * BENCHMARKS.md), which across hundreds of steps is most of a small layer's time; a tree
 * pays off only when many partitions would send their parts to the driver at once. So up to
 * {@value #DIRECT} partitions the parts are collected and merged here in partition order;
 * beyond, by treeAggregate. The values merged must not depend on the order of merges (exact
 * sums, or parts kept by partition), so both paths give the same result.
 */
final class PartMerge {
  private PartMerge() {}

  /** Most partitions whose parts the driver collects at once. */
  static final int DIRECT = 16;

  static <T> T merge(JavaRDD<T> parts, T zero, Function2<T, T, T> merge) {
    try {
      if (parts.getNumPartitions() > DIRECT) return parts.treeAggregate(zero, merge, merge);
      List<T> all = parts.collect();
      T r = zero;
      for (T p : all) r = merge.call(r, p);
      return r;
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}

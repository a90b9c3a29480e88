package io.qspark.job.spark;

import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What one Spark job costs on local[2] when the work is nothing: the floor under every per-step
 * job of AdaQuant, AdaRound and QAT. A cached 2-partition RDD; each partition returns a gradient
 * of {@code size} exact sums (2 longs each, as {@code GridSum}), merged by treeAggregate and by
 * {@link PartMerge}'s collect, alternating, 100 jobs each per round; the collect again with the task as a
 * named class instead of a lambda (no closure cleaning), with the process's CPU time per job.
 *
 * <p>{@code mvn -o -q test -pl job -am -Pbench -Dtest=SparkJobCostBench -Dsurefire.failIfNoSpecifiedTests=false}
 */
@Tag("bench")
class SparkJobCostBench {
  @Test
  void perJobCost() {
    try (SparkRuntime spark = SparkRuntime.start("job-cost-bench", new SparkSettings("local[2]", 0))) {
      JavaSparkContext sc = spark.context();
      JavaRDD<Integer> r = sc.parallelize(List.of(0, 1), 2);
      r.persist(StorageLevel.MEMORY_AND_DISK());
      r.count();
      StringBuilder b = new StringBuilder("## One Spark job, local[2], nothing to compute\n\n| sums per part | treeAggregate (ms/job) | PartMerge, lambda (ms/job) | PartMerge, named function (ms/job) | its process CPU, all threads (ms/job) |\n|---:|---:|---:|---:|---:|\n");
      for (int size : new int[] {1, 37_000}) {
        double tree = 0, direct = 0, named = 0, namedCpu = 0;
        for (int round = 0; round < 3; round++) {
          long t0 = System.nanoTime();
          for (int i = 0; i < 100; i++) {
            r.map(x -> new long[2 * size]).treeAggregate(new long[2 * size], SparkJobCostBench::add, SparkJobCostBench::add);
          }
          double t = (System.nanoTime() - t0) / 1e6 / 100;
          t0 = System.nanoTime();
          for (int i = 0; i < 100; i++) PartMerge.merge(r.map(x -> new long[2 * size]), new long[2 * size], SparkJobCostBench::add);
          double d = (System.nanoTime() - t0) / 1e6 / 100;
          t0 = System.nanoTime();
          long c0 = cpu();
          for (int i = 0; i < 100; i++) PartMerge.merge(r.map(new Zeros(size)), new long[2 * size], SparkJobCostBench::add);
          double n = (System.nanoTime() - t0) / 1e6 / 100;
          double nc = (cpu() - c0) / 1e6 / 100;
          if (round > 0) { // round 0 warms up
            tree += t / 2;
            direct += d / 2;
            named += n / 2;
            namedCpu += nc / 2;
          }
        }
        b.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f | %.1f | %.1f |%n", size, tree, direct, named, namedCpu));
      }
      System.out.println(b);
    }
  }

  /** The same task as a named class: Spark's ClosureCleaner reads a lambda's class file (ASM) on every map, not this. */
  private static final class Zeros implements org.apache.spark.api.java.function.Function<Integer, long[]> {
    private final int size;

    Zeros(int size) {
      this.size = size;
    }

    @Override
    public long[] call(Integer x) {
      return new long[2 * size];
    }
  }

  private static long cpu() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static long[] add(long[] a, long[] o) {
    for (int i = 0; i < a.length; i++) a[i] += o[i];
    return a;
  }
}

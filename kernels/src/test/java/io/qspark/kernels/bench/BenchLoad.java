package io.qspark.kernels.bench;

/** The load average for benchmarks outside this package. */
public final class BenchLoad {
  private BenchLoad() {}

  public static String now() {
    return BenchReport.loadAverage();
  }
}

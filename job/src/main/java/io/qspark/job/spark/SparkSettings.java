package io.qspark.job.spark;

/** Spark choices from the command line: master (null: spark-submit's or local) and partitions (0: automatic). */
public record SparkSettings(String master, int partitions) {
  /** Small enough that progress is logged every few seconds, large enough that task overhead stays negligible. */
  public static final int IMAGES_PER_PARTITION = 1024;

  public int partitionsFor(long images, int defaultParallelism) {
    if (partitions > 0) return partitions;
    long byImages = (images + IMAGES_PER_PARTITION - 1) / IMAGES_PER_PARTITION;
    return (int) Math.max(1, Math.max(defaultParallelism, Math.min(byImages, Integer.MAX_VALUE)));
  }
}

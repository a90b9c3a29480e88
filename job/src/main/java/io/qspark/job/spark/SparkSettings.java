package io.qspark.job.spark;

import io.qspark.job.base.UserError;

/** Spark choices: master (null: spark-submit's or local) and partitions (0: automatic, at most {@link #MAX_PARTITIONS}). */
public record SparkSettings(String master, int partitions) {
  /** spark-submit's master (else local[*]), partitions by the default rule. */
  public static final SparkSettings DEFAULT = new SparkSettings(null, 0);

  public SparkSettings {
    if (partitions < 0) throw new IllegalArgumentException("--partitions must be at least 1, got " + partitions);
    if (partitions > MAX_PARTITIONS) {
      throw new IllegalArgumentException("--partitions " + partitions + " is above the maximum, " + MAX_PARTITIONS);
    }
    if (master != null && master.isBlank()) master = null;
  }

  /** As report.json's settings give them. */
  public java.util.Map<String, Object> json() {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("master", master);
    m.put("partitions", partitions == 0 ? null : partitions);
    return m;
  }

  /**
   * Default partition size for Fashion-MNIST-size inputs: small enough that progress is logged
   * every few seconds, large enough that task overhead stays negligible.
   */
  public static final int IMAGES_PER_PARTITION = 1024;
  /**
   * Model input values per default partition (1024 images of 28 x 28): larger inputs take
   * fewer images per partition, since a task's work grows with them (a 224 x 224 x 3 image is
   * 192 Fashion-MNIST images' worth of input and about 700 times the convolution work of
   * resnet_s). A 2,000-image resnet18 run got 2 partitions of 1,000 images: one per slot, so
   * any imbalance left a slot idle and progress came every few minutes.
   */
  static final long VALUES_PER_PARTITION = IMAGES_PER_PARTITION * 28L * 28;
  /** Fewest images of a default partition: each task also loads and prepares its share of the model. */
  public static final int MIN_IMAGES_PER_PARTITION = 64;

  /**
   * The most partitions --partitions takes. Each partition is a task per pass and a file per
   * shuffle: 100,000 partitions of 100 images wrote 130,722 shuffle files in three minutes
   * without finishing. 10,000 partitions is a few per core on the largest clusters.
   */
  public static final int MAX_PARTITIONS = 10_000;

  /** --partitions, if given, may not exceed the images it splits: an empty partition is a task for nothing. */
  public void requireFits(long images) {
    if (partitions > images) {
      throw new UserError("--partitions " + partitions + " is more than the " + images + " images to split; give at most " + images);
    }
  }

  /** These settings with --partitions at most {@code images} (for a smaller set the run also reads, such as QAT's calibration images). */
  public SparkSettings capped(long images) {
    return partitions > images ? new SparkSettings(master, (int) Math.max(1, images)) : this;
  }

  /** Partitions for images of Fashion-MNIST size (28 x 28 values). */
  public int partitionsFor(long images, int defaultParallelism) {
    return partitionsFor(images, 28 * 28, defaultParallelism);
  }

  /**
   * --partitions if given (at most the images), else partitions of at most {@link #imagesPerPartition} images, at
   * least Spark's default parallelism and a multiple of it, so every slot gets as many tasks of
   * about equal size. Results do not depend on the partitioning (statistics merge exactly).
   */
  public int partitionsFor(long images, long valuesPerImage, int defaultParallelism) {
    if (partitions > 0) {
      requireFits(images);
      return partitions;
    }
    int per = imagesPerPartition(valuesPerImage);
    long byImages = (images + per - 1) / per;
    int slots = Math.max(1, defaultParallelism);
    if (byImages > slots) byImages = (byImages + slots - 1) / slots * slots;
    return (int) Math.max(1, Math.max(defaultParallelism, Math.min(byImages, Integer.MAX_VALUE)));
  }

  /** Images per default partition for inputs of valuesPerImage values: 1024 for 28 x 28, 64 for 224 x 224 x 3. */
  public static int imagesPerPartition(long valuesPerImage) {
    long per = VALUES_PER_PARTITION / Math.max(1, valuesPerImage);
    return (int) Math.max(MIN_IMAGES_PER_PARTITION, Math.min(IMAGES_PER_PARTITION, per));
  }
}

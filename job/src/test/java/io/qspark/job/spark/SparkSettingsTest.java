package io.qspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Default partitions sized by input values per image, whole waves of tasks per slot. Expected
 * values are worked out by hand from the rule as docs/spark.md states it: a partition holds
 * 1024 Fashion-MNIST images' worth of input values (1024 x 28 x 28 = 802,816), at most 1024 and at
 * least 64 images; the count is rounded up to a multiple of the slots, and never below them.
 */
class SparkSettingsTest {
  private static final SparkSettings AUTO = new SparkSettings("local[2]", 0);

  @Test
  void imagesPerPartitionShrinkWithTheInputDownToAFloor() {
    assertEquals(1024, SparkSettings.imagesPerPartition(28 * 28)); // 802,816 / 784 = 1024
    assertEquals(261, SparkSettings.imagesPerPartition(3 * 32 * 32)); // 802,816 / 3,072 = 261.3
    assertEquals(64, SparkSettings.imagesPerPartition(3 * 224 * 224)); // 802,816 / 150,528 = 5.3, floor 64
    assertEquals(1024, SparkSettings.imagesPerPartition(10)); // 80,281 capped at 1024
  }

  @Test
  void imagenetSizeRunsGetManyBalancedPartitions() {
    // 64 images each: ceil(2000 / 64) = 32, already a multiple of 2 slots
    assertEquals(32, AUTO.partitionsFor(2000, 3 * 224 * 224, 2));
    // 32 rounded up to a multiple of 3 slots: 33
    assertEquals(33, AUTO.partitionsFor(2000, 3 * 224 * 224, 3));
    // ceil(100 / 64) = 2
    assertEquals(2, AUTO.partitionsFor(100, 3 * 224 * 224, 2));
  }

  @Test
  void fashionMnistSizeRunsKeepTheirPartitionsUpToWholeWaves() {
    // 1024 images each: ceil(60000 / 1024) = 59, rounded up to a multiple of 2 slots
    assertEquals(60, AUTO.partitionsFor(60000, 2));
    // ceil(10000 / 1024) = 10
    assertEquals(10, AUTO.partitionsFor(10000, 28 * 28, 2));
    // one partition's worth, but never fewer partitions than slots
    assertEquals(2, AUTO.partitionsFor(500, 28 * 28, 2));
    assertEquals(1, AUTO.partitionsFor(500, 28 * 28, 1));
  }

  @Test
  void explicitPartitionsWin() {
    assertEquals(3, new SparkSettings("local[2]", 3).partitionsFor(2000, 3 * 224 * 224, 2));
  }
}

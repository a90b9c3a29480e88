package io.qspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Default partitions sized by input values per image, whole waves of tasks per slot. */
class SparkSettingsTest {
  private static final SparkSettings AUTO = new SparkSettings("local[2]", 0);

  @Test
  void imagesPerPartitionShrinkWithTheInputDownToAFloor() {
    assertEquals(1024, SparkSettings.imagesPerPartition(28 * 28));
    assertEquals(261, SparkSettings.imagesPerPartition(3 * 32 * 32));
    assertEquals(64, SparkSettings.imagesPerPartition(3 * 224 * 224));
    assertEquals(1024, SparkSettings.imagesPerPartition(10));
  }

  @Test
  void imagenetSizeRunsGetManyBalancedPartitions() {
    // 2,000 224x224 images used to get 2 partitions of 1,000
    assertEquals(32, AUTO.partitionsFor(2000, 3 * 224 * 224, 2));
    assertEquals(33, AUTO.partitionsFor(2000, 3 * 224 * 224, 3));
    assertEquals(2, AUTO.partitionsFor(100, 3 * 224 * 224, 2));
  }

  @Test
  void fashionMnistSizeRunsKeepTheirPartitionsUpToWholeWaves() {
    assertEquals(60, AUTO.partitionsFor(60000, 2));
    assertEquals(10, AUTO.partitionsFor(10000, 28 * 28, 2));
    assertEquals(2, AUTO.partitionsFor(500, 28 * 28, 2));
    assertEquals(1, AUTO.partitionsFor(500, 28 * 28, 1));
  }

  @Test
  void explicitPartitionsWin() {
    assertEquals(3, new SparkSettings("local[2]", 3).partitionsFor(2000, 3 * 224 * 224, 2));
  }
}

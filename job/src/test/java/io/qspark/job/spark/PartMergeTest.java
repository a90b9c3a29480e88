package io.qspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Both of PartMerge's paths, the driver's own merge (up to 16 partitions) and the tree beyond. */
class PartMergeTest {
  private static SparkRuntime spark;

  @BeforeAll
  static void setUp() {
    spark = SparkRuntime.start("part-merge-test", new SparkSettings("local[2]", 0));
  }

  @AfterAll
  static void tearDown() {
    spark.close();
  }

  @Test
  void sumsTheSameOnEitherPath() {
    JavaSparkContext sc = spark.context();
    List<Long> xs = new ArrayList<>();
    for (long i = 1; i <= 100; i++) xs.add(i);
    for (int parts : new int[] {1, 3, PartMerge.DIRECT, PartMerge.DIRECT + 1, 40}) {
      // 1 + 2 + ... + 100 = 5050
      assertEquals(5050L, PartMerge.merge(sc.parallelize(xs, parts), 0L, Long::sum), parts + " partitions");
    }
  }

  @Test
  void mergesInPartitionOrderOnTheDriversPath() {
    JavaSparkContext sc = spark.context();
    List<String> parts = List.of("a", "b", "c", "d");
    assertEquals("abcd", PartMerge.merge(sc.parallelize(parts, 4), "", String::concat));
  }
}

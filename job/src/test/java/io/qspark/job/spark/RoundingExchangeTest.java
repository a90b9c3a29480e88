package io.qspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.AdaRound;
import io.qspark.kernels.train.AdaRoundOptions;
import io.qspark.kernels.train.LayerReport;
import io.qspark.kernels.train.LocalShards;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * AdaRound's two ways of running a layer's steps on Spark, one barrier job whose tasks exchange
 * their gradient parts and step each, and one job per step merged on the driver, give the same
 * bits, and the same as the single-JVM kernels; {@code barrier} refuses, in one line, a
 * partitioning it cannot run.
 */
@Tag("slow")
class RoundingExchangeTest {
  private static final int IMAGES = 96;
  private static SparkRuntime spark;
  private static TuningFixture f;
  // 4 steps of 24 images: the windows wrap around the 96 images, the regularizer switches on after the first
  private static final AdaRoundOptions OPT = new AdaRoundOptions(4, 0.1, 24, 3, 64, new AdaRoundOptions.Regularizer(0.01, 0.2, 20, 2));

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkRuntime.start("rounding-exchange-test", new SparkSettings("local[2]", 0));
    f = TuningFixture.resnetS(IMAGES);
  }

  @AfterAll
  static void tearDown() {
    spark.close();
  }

  private static AdaRound.Result spark(int partitions, String exchange) {
    JavaSparkContext sc = spark.context();
    sc.setLocalProperty(RoundingExchange.SETTING, exchange);
    try {
      return AdaRoundJob.run(sc, sc.parallelize(f.images(), partitions), f.blob(), Map.of(), f.plan(), f.cfg(), f.params(), OPT, null);
    } finally {
      sc.setLocalProperty(RoundingExchange.SETTING, null);
    }
  }

  private static void assertSame(AdaRound.Result a, AdaRound.Result b, String what) {
    assertEquals(a.params().activations(), b.params().activations(), what);
    assertEquals(a.params().params(), b.params().params(), what);
    for (String k : a.graph().initializers().keySet()) {
      Tensor x = a.graph().initializers().get(k), y = b.graph().initializers().get(k);
      if (x.isFloat()) assertArrayEquals(x.data(), y.data(), what + ": " + k);
    }
  }

  @Test
  void barrierJobEqualsOneJobPerStepAndOneJvm() {
    AdaRound.Result barrier = spark(2, "barrier");
    assertTrue(barrier.layers().stream().anyMatch(LayerReport::kept), "some layer's rounding was kept");
    assertSame(barrier, spark(2, "jobs"), "2 partitions, barrier against per-step jobs");
    assertSame(barrier, spark(1, "barrier"), "1 partition against 2, barrier");
    assertSame(barrier, spark(5, "auto"), "5 partitions on 2 slots (per-step jobs) against 2 in a barrier job");
    try (LocalShards s = new LocalShards(f.graph(), QuantPlan.of(f.graph(), f.cfg()), f.input(), 3, 2, OPT)) {
      assertSame(barrier, AdaRound.run(f.graph(), QuantPlan.of(f.graph(), f.cfg()), f.params(), f.cfg(), OPT, s, null), "3 local shards");
    }
  }

  @Test
  void barrierRefusesMorePartitionsThanSlotsInOneLine() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> spark(3, "barrier"));
    assertTrue(e.getMessage().contains("3 partitions but 2 task slots") && !e.getMessage().contains("\n"), e.getMessage());
  }
}

package io.qspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.AdaQuant;
import io.qspark.kernels.train.AdaQuantOptions;
import io.qspark.kernels.train.LayerReport;
import io.qspark.kernels.train.LocalShards;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * AdaQuant as a Spark job on local[2]: the same partitioning gives bit-identical weights and
 * fix_points run after run, and the same as the single-JVM kernels split the same way.
 */
@Tag("slow")
class AdaQuantJobTest {
  private static final int IMAGES = 96;
  private static SparkRuntime spark;
  private static TuningFixture f;

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkRuntime.start("adaquant-test", new SparkSettings("local[2]", 0));
    f = TuningFixture.resnetS(IMAGES);
  }

  @AfterAll
  static void tearDown() {
    spark.close();
  }

  private static AdaQuant.Result spark(int partitions, AdaQuantOptions opt) {
    JavaSparkContext sc = spark.context();
    return AdaQuantJob.run(sc, sc.parallelize(f.images(), partitions), f.blob(), f.plan(), f.cfg(), f.params(), opt, null);
  }

  private static AdaQuant.Result local(int parts, AdaQuantOptions opt) {
    try (LocalShards s = new LocalShards(f.graph(), QuantPlan.of(f.graph(), f.cfg()), f.input(), parts, 2, opt)) {
      return AdaQuant.run(f.graph(), QuantPlan.of(f.graph(), f.cfg()), f.params(), f.cfg(), opt, s, null);
    }
  }

  private static void assertSame(AdaQuant.Result a, AdaQuant.Result b) {
    assertEquals(a.params().activations(), b.params().activations());
    assertEquals(a.params().params(), b.params().params());
    for (String k : a.graph().initializers().keySet()) {
      Tensor x = a.graph().initializers().get(k), y = b.graph().initializers().get(k);
      if (x.isFloat()) assertArrayEquals(x.data(), y.data(), k);
    }
  }

  @Test
  void samePartitioningSameWeightsAndTheSameAsOneJvm() {
    AdaQuantOptions opt = AdaQuantOptions.defaults().withSteps(3).withLrScale(0.02);
    AdaQuant.Result first = spark(2, opt);
    assertTrue(first.layers().stream().anyMatch(LayerReport::kept), "some layer's update was kept");
    boolean changed = false;
    for (var e : f.graph().initializers().entrySet()) {
      if (e.getValue().isFloat()) changed |= !java.util.Arrays.equals(e.getValue().data(), first.graph().initializers().get(e.getKey()).data());
    }
    assertTrue(changed, "weights were tuned");
    assertSame(first, spark(2, opt));
    assertSame(first, local(2, opt));
  }

  @Test
  void minibatchStepsAreDeterministicForASeed() {
    AdaQuantOptions opt = new AdaQuantOptions(2, 0.02, 16, 7);
    AdaQuant.Result one = spark(3, opt);
    assertSame(one, spark(3, opt));
    assertSame(one, local(3, opt));
  }
}

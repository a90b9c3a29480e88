package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.data.Idx;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.AdaQuant;
import io.qspark.kernels.train.AdaQuantOptions;
import io.qspark.kernels.train.LayerReport;
import io.qspark.kernels.train.LocalShards;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
  private static ModelBlob blob;
  private static Graph graph;
  private static QuantConfig cfg;
  private static QuantParams params;
  private static Tensor input;
  private static List<LabeledImage> images;
  private static ScoringPlan plan;

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkRuntime.start("adaquant-test", new SparkSettings("local[2]", 0));
    Path model = Path.of("../../shared/models/resnet_s.onnx");
    blob = ModelBlob.of(model);
    Model m = Model.load(model).forInference();
    graph = m.graph();
    cfg = QuantConfig.defaults().withBits(4);
    try (InputStream in = Files.newInputStream(Path.of("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))) {
      Idx.Array a = Idx.read(in, "train", IMAGES);
      float[] x = new float[a.data().length];
      for (int i = 0; i < x.length; i++) x[i] = ((a.data()[i] & 0xff) - 72.94f) / 90.02f;
      input = Tensor.of(x, IMAGES, 1, 28, 28);
    }
    QuantPlan qp = QuantPlan.of(graph, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(graph).run(Map.of(graph.inputs().get(0).name(), input), stats.observer(qp), false);
    params = QuantParams.decide(graph, qp, stats.histograms(), cfg);
    images = new ArrayList<>();
    for (int i = 0; i < IMAGES; i++) {
      images.add(LabeledImage.ofValues("img" + i, java.util.Arrays.copyOfRange(input.data(), i * 784, (i + 1) * 784), 0));
    }
    plan = ScoringPlan.ofInputs(new ImageLayout(1, 28, 28, false), Classifier.of(m), 32);
  }

  @AfterAll
  static void tearDown() {
    spark.close();
  }

  private static AdaQuant.Result spark(int partitions, AdaQuantOptions opt) {
    JavaSparkContext sc = spark.context();
    return AdaQuantJob.run(sc, sc.parallelize(images, partitions), blob, plan, cfg, params, opt, null);
  }

  private static AdaQuant.Result local(int parts, AdaQuantOptions opt) {
    try (LocalShards s = new LocalShards(graph, QuantPlan.of(graph, cfg), input, parts, 2, opt)) {
      return AdaQuant.run(graph, QuantPlan.of(graph, cfg), params, cfg, opt, s, null);
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
    for (var e : graph.initializers().entrySet()) {
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

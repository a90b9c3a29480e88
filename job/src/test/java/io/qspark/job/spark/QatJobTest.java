package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.data.Idx;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.EpochOrder;
import io.qspark.kernels.train.LrSchedule;
import io.qspark.kernels.train.QatGradient;
import io.qspark.kernels.train.QatLocal;
import io.qspark.kernels.train.QatTrainer;
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
 * QAT as a Spark job on local[2], resnet_s at W4A4 on 192 training images, global batch 64 in
 * micro-batches of 16, 6 steps over two epochs with BatchNorm frozen and folded at step 4: 1 and
 * 2 partitions train the same model (bit for bit: parts are summed in micro-batch order), and
 * the same as single-process kernels training with the same global batch.
 */
@Tag("slow")
class QatJobTest {
  private static final int IMAGES = 192;
  private static SparkRuntime spark;
  private static ModelBlob blob;
  private static Tensor input;
  private static int[] labels;
  private static List<LabeledImage> images;
  private static ScoringPlan plan;
  private static final EpochOrder ORDER = new EpochOrder(IMAGES, 64, 16, 3);

  @BeforeAll
  static void setUp() throws Exception {
    spark = SparkRuntime.start("qat-test", new SparkSettings("local[2]", 0));
    Path model = Path.of("../../shared/models/resnet_s.onnx");
    Model m = Model.load(model).forInference();
    Graph graph = m.graph();
    QuantConfig cfg = QuantConfig.defaults().withBits(4);
    try (InputStream in = Files.newInputStream(Path.of("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"));
        InputStream lin = Files.newInputStream(Path.of("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"))) {
      Idx.Array a = Idx.read(in, "train", IMAGES);
      Idx.Array l = Idx.read(lin, "labels", IMAGES);
      float[] x = new float[a.data().length];
      for (int i = 0; i < x.length; i++) x[i] = ((a.data()[i] & 0xff) - 72.94f) / 90.02f;
      input = Tensor.of(x, IMAGES, 1, 28, 28);
      labels = new int[IMAGES];
      for (int i = 0; i < IMAGES; i++) labels[i] = l.data()[i] & 0xff;
    }
    QuantPlan qp = QuantPlan.of(graph, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(graph).run(Map.of(graph.inputs().get(0).name(), input), stats.observer(qp), false);
    stats.addImages(IMAGES);
    QuantParams params = QuantParams.decide(graph, qp, stats.histograms(), cfg);
    ModelBlob floatBlob = ModelBlob.of(model);
    blob = floatBlob.quantized(QuantInfo.write("resnet_s.onnx", floatBlob.sha256(), cfg, qp, params, stats, graph));
    images = new ArrayList<>();
    for (int i = 0; i < IMAGES; i++) {
      images.add(LabeledImage.ofValues("img" + i, java.util.Arrays.copyOfRange(input.data(), i * 784, (i + 1) * 784), labels[i]));
    }
    plan = ScoringPlan.ofInputs(new ImageLayout(1, 28, 28, false), ModelIo.of(m), 32);
  }

  @AfterAll
  static void tearDown() {
    spark.close();
  }

  static QatTrainer.Settings settings() {
    return new QatTrainer.Settings("sgd", 0.9, 1e-4, new LrSchedule(LrSchedule.Kind.COSINE, 5e-3, 1, 6, 0, 1), 4, 0.1);
  }

  private record Run(List<Double> losses, byte[] state, float[] logThresholds) {}

  private static Run spark(int partitions) {
    return spark(partitions, settings());
  }

  private static Run spark(int partitions, QatTrainer.Settings settings) {
    JavaSparkContext sc = spark.context();
    QatTrainer t = QatTrainer.start(QatJob.worker(blob), settings, "test");
    List<Double> losses = new ArrayList<>();
    QatJob.run(sc, sc.parallelize(images, 3), blob, plan, ORDER, 2, partitions, t, new QatJob.Hooks() {
      @Override
      public void afterStep(QatTrainer tr, QatGradient.Total s) {
        losses.add(s.loss());
      }

      @Override
      public void afterEpoch(QatTrainer tr, int epoch) {}
    });
    return new Run(losses, t.state().toBytes(), t.state().logThresholds());
  }

  @Test
  void partitionsTrainTheSameModelAsOneProcess() {
    Run one = spark(1), two = spark(2);
    assertEquals(6, one.losses().size());
    assertEquals(one.losses(), two.losses());
    assertArrayEquals(one.state(), two.state(), "1 and 2 partitions end with different state");
    QatTrainer t = QatTrainer.start(QatJob.worker(blob), settings(), "test");
    List<Double> local;
    try (QatLocal l = new QatLocal(QatJob.worker(blob), input, labels, ORDER, 2)) {
      local = l.train(t, 6);
    }
    for (int i = 0; i < 6; i++) {
      assertEquals(local.get(i), one.losses().get(i), 1e-5 * Math.abs(local.get(i)), "step " + i + ": " + local + " vs " + one.losses());
    }
    assertTrue(t.state().frozen());
    // training moved the loss: the steps are not no-ops
    assertTrue(!one.losses().get(0).equals(one.losses().get(5)));
  }

  /**
   * The reduce-scatter exchange (gradient slices summed on the executors, one summed gradient to
   * the driver) trains the same bits as every part summed on the driver, on 1, 2 and 3
   * partitions (3 slices over 4 micro-batches: slices and partitions need not divide evenly),
   * with learned thresholds so that every figure a part carries besides its gradients counts.
   */
  @Test
  void reduceScatteredStepsTrainTheSameBitsAsTheDriver() {
    QatTrainer.Settings f = settings();
    QatTrainer.Settings tqt = new QatTrainer.Settings(f.optimizer(), f.momentum(), f.weightDecay(), f.schedule(), f.freezeStep(),
        f.bnMomentum(), true, 10);
    JavaSparkContext sc = spark.context();
    try {
      sc.setLocalProperty(QatJob.EXCHANGE, "driver");
      Run driver = spark(2, tqt);
      sc.setLocalProperty(QatJob.EXCHANGE, "shuffle");
      for (int p : new int[] {1, 2, 3}) {
        Run shuffled = spark(p, tqt);
        assertEquals(driver.losses(), shuffled.losses(), p + " partitions");
        assertArrayEquals(driver.state(), shuffled.state(), p + " partitions: the reduce-scattered run ends with other state");
      }
    } finally {
      sc.setLocalProperty(QatJob.EXCHANGE, null);
    }
  }

  /** TQT: thresholds reduced with the weights, so they too are the same bits on 1 and 2 partitions. */
  @Test
  void learnedThresholdsMoveTheSameOnAnyPartitioning() {
    QatTrainer.Settings f = settings();
    QatTrainer.Settings tqt = new QatTrainer.Settings(f.optimizer(), f.momentum(), f.weightDecay(), f.schedule(), f.freezeStep(),
        f.bnMomentum(), true, 10);
    Run one = spark(1, tqt), two = spark(2, tqt);
    assertEquals(one.losses(), two.losses());
    assertArrayEquals(one.state(), two.state(), "1 and 2 partitions end with different state");
    float[] initial = QatTrainer.start(QatJob.worker(blob), tqt, "test").state().logThresholds();
    int moved = 0;
    for (int i = 0; i < initial.length; i++) if (initial[i] != one.logThresholds()[i]) moved++;
    assertTrue(moved > initial.length / 2, moved + " of " + initial.length + " thresholds moved");
  }
}

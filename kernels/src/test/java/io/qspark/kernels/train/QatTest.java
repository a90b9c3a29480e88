package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** QAT in one JVM on the shared resnet_s at W4A4, calibrated on the first 1,000 training images. */
@Tag("slow")
class QatTest {
  static QatTrainer.Settings settings(long freezeStep, long total) {
    return new QatTrainer.Settings("sgd", 0.9, 1e-5, new LrSchedule(LrSchedule.Kind.COSINE, 1e-3, 2, total, 0, 1), freezeStep, 0.1);
  }

  @Test
  void trainsThenFreezesIntoExactlyTheDeployedModel() throws Exception {
    AdaQuantTest.Setup s = AdaQuantTest.calibrate("resnet_s.onnx", 4);
    Graph floatGraph = Model.load(Shared.model("resnet_s.onnx")).graph();
    QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
    int n = 1024;
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", n);
    int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", n);
    EpochOrder order = new EpochOrder(n, 128, 32, 7);
    QatTrainer t = QatTrainer.start(worker, settings(6, 8), "test");
    long t0 = System.nanoTime();
    List<Double> losses;
    try (QatLocal local = new QatLocal(worker, x, labels, order, 2)) {
      losses = local.train(t, 8);
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.printf("8 QAT steps of 128 images: %.1f s (%.0f images/s), losses %s%n", secs, 8 * 128 / secs, losses);
    assertEquals(8, losses.size());
    assertTrue(t.state().frozen());
    // the frozen worker's forward is the deployed fake-quant model, bit for bit
    Graph inf = t.inference();
    QuantizedModel qm = new QuantizedModel(inf, s.plan(), s.params());
    Tensor batch = x.slice0(0, 16);
    float[] deployed = qm.run(qm.executor(1), Map.of(inf.inputs().get(0).name(), batch)).values().iterator().next().data();
    float[] trained = worker.logits(t.weights(), batch).data();
    assertArrayEquals(deployed, trained);
  }
}

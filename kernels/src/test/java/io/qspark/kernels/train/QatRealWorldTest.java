package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.RealWorld;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * QAT steps end to end (forward, backward, update; kernels only, two threads) on the models of
 * shared/models/realworld that are not classifiers: the YOLOv5-shaped detector (three outputs),
 * the two-input siamese model (two outputs) and LR-ASPP (segmentation), at W6A6, trained by
 * distillation from the float model on unlabelled training images (the README's inputs). The
 * held-out distillation loss falls, and the trained forward pass is the deployed fake-quant
 * model bit for bit on every output.
 */
@Tag("slow")
class QatRealWorldTest {
  @ParameterizedTest
  @ValueSource(strings = {"tiny_yolo.onnx", "siamese2.onnx", "lraspp_mobilenet_v3_large.onnx"})
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void distillationStepsBringTheQuantizedOutputsCloser(String file) throws Exception {
    Model m = Model.load(RealWorld.model(file));
    Graph inference = m.forInference().graph();
    QuantConfig cfg = QuantConfig.defaults().withBits(6);
    QuantPlan plan = QuantPlan.of(inference, cfg);
    Map<String, Tensor> calib = RealWorld.inputs(m, "train-images-idx3-ubyte.gz", 0, 32);
    ActivationStats stats = new ActivationStats();
    new Executor(inference).run(calib, stats.observer(plan), false);
    QuantParams params = QuantParams.decide(inference, plan, stats.histograms(), cfg);
    QatWorker worker = new QatWorker(m.graph(), plan, params);
    DistillationLoss loss = DistillationLoss.of(inference, calib);

    Map<String, Tensor> train = RealWorld.inputs(m, "train-images-idx3-ubyte.gz", 0, 64);
    Map<String, Tensor> test = RealWorld.inputs(m, "t10k-images-idx3-ubyte.gz", 0, 16);
    Map<String, Tensor> floats = new Executor(inference).run(test);
    int steps = file.startsWith("siamese") ? 8 : 4;
    QatTrainer t = QatTrainer.start(worker, new QatTrainer.Settings("adam", 0.9, 0,
        new LrSchedule(LrSchedule.Kind.CONSTANT, 1e-4, 0, steps, 0, 1), 0, 0.1), file);
    QatLoss.Batch held = new QatLoss.Batch(test, null);
    Map<String, Tensor> ptq = worker.outputs(t.weights(), test);
    double before = loss.evaluate(held, ptq).sum();
    List<Double> losses;
    try (QatLocal local = new QatLocal(worker, train, null, loss, new EpochOrder(64, 8, 4, 11), 2)) {
      losses = local.train(t, steps);
    }
    assertEquals(steps, losses.size());
    for (double l : losses) assertTrue(Double.isFinite(l), "losses " + losses);
    Map<String, Tensor> qat = worker.outputs(t.weights(), test);
    double after = loss.evaluate(held, qat).sum();
    System.out.printf("%s W6A6, %d distillation steps of 8 images: held-out loss %.4f -> %.4f, train losses %s%n", file, steps,
        before / 16, after / 16, losses);
    for (String o : inference.outputs()) {
      System.out.printf("  %s SQNR %.2f dB (PTQ) -> %.2f dB (QAT)%n", o, sqnr(floats.get(o), ptq.get(o)), sqnr(floats.get(o), qat.get(o)));
    }
    assertTrue(after < before, file + ": held-out distillation loss " + before + " -> " + after);

    QuantizedModel deployed = new QuantizedModel(t.inference(), plan, params);
    Map<String, Tensor> d = deployed.run(deployed.executor(1), test);
    assertEquals(inference.outputs(), List.copyOf(new LinkedHashMap<>(d).keySet()));
    for (String o : inference.outputs()) assertArrayEquals(d.get(o).data(), qat.get(o).data(), file + " " + o);
  }

  private static double sqnr(Tensor f, Tensor q) {
    double s = 0, n = 0;
    for (int i = 0; i < f.size(); i++) {
      double e = (double) q.data()[i] - f.data()[i];
      s += (double) f.data()[i] * f.data()[i];
      n += e * e;
    }
    return 10 * Math.log10(s / n);
  }
}

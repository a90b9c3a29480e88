package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The QAT table: top-1 on the 10,000 test images after PTQ (calibrated on the first 1,000
 * training images) and after 1 epoch of QAT over the 60,000 training images (SGD lr 1e-3,
 * momentum 0.9, cosine, global batch 128 in micro-batches of 32, BatchNorm folded after 80% of
 * the steps), as PyTorch's row in ../shared/models/README.md, on 2 threads. The job trains the
 * same bits for any partitioning (QatJobTest). {@code -Dqspark.bench.qat.models} and
 * {@code -Dqspark.bench.qat.configs} (W4A4, 6b, 8b; W4A4B8: 8-bit biases) select rows;
 * {@code -Dqspark.bench.qat.holdout=H} trains on all but the last H training images and scores
 * on those instead of the test set (for choosing a recipe); {@code -Dqspark.bench.qat.distill=W} adds W times
 * distillation from the float model to the cross-entropy; {@code -Dqspark.bench.qat.batch=B} sets the global
 * batch (default 128, still in micro-batches of 32; the steps per epoch and images/s follow it).
 */
@Tag("bench")
class QatTableBench {
  /**
   * The recipe: {@code -Dqspark.bench.qat.optimizer=sgd}, {@code .lr=0.001}, {@code .freeze=0.8} (share of the
   * steps on batch statistics), {@code .tqt=false}, {@code .tqtScale=1}, {@code .warmup=0} (steps),
   * {@code .weightDecay=0}; the defaults are conf/qat.yaml's.
   */
  static QatTrainer.Settings settings(long steps) {
    String opt = System.getProperty("qspark.bench.qat.optimizer", "sgd");
    double lr = Double.parseDouble(System.getProperty("qspark.bench.qat.lr", "0.001"));
    double freeze = Double.parseDouble(System.getProperty("qspark.bench.qat.freeze", "0.8"));
    int warmup = Integer.getInteger("qspark.bench.qat.warmup", 0);
    double weightDecay = Double.parseDouble(System.getProperty("qspark.bench.qat.weightDecay", "0"));
    return new QatTrainer.Settings(opt, 0.9, weightDecay, new LrSchedule(LrSchedule.Kind.COSINE, lr, warmup, steps, 0, 1),
        Math.round(steps * freeze), 0.1, Boolean.getBoolean("qspark.bench.qat.tqt"),
        Double.parseDouble(System.getProperty("qspark.bench.qat.tqtScale", "1")));
  }

  @Test
  void table() throws Exception {
    int n = Integer.getInteger("qspark.bench.qat.images", 60_000);
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", n);
    int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", n);
    // a recipe is chosen on the last H training images, trained on the rest, so the test set stays unseen
    int holdout = Integer.getInteger("qspark.bench.qat.holdout", 0);
    Tensor test = holdout > 0 ? x.slice0(n - holdout, n) : Shared.testImages(10_000);
    int[] testLabels = holdout > 0 ? java.util.Arrays.copyOfRange(labels, n - holdout, n) : Shared.testLabels(10_000);
    if (holdout > 0) {
      x = x.slice0(0, n - holdout);
      labels = java.util.Arrays.copyOf(labels, n - holdout);
      n -= holdout;
    }
    StringBuilder rows = new StringBuilder();
    for (String model : System.getProperty("qspark.bench.qat.models", "resnet_s,mbv2_s").split(",")) {
      for (String c : System.getProperty("qspark.bench.qat.configs", "W4A4,6b").split(",")) {
        QuantConfig cfg = c.contains("B") || !System.getProperty("qspark.bench.adaround.layers", "").isEmpty()
            ? AdaRoundBench.config(c) : AdaQuantBench.config(c);
        AdaQuantTest.Setup s = AdaQuantTest.calibrate(model + ".onnx", cfg);
        double ptq = AdaQuantTest.top1(s.graph(), s.plan(), s.params(), test, testLabels);
        Graph floatGraph = Model.load(Shared.model(model + ".onnx")).graph();
        QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
        int batch = Integer.getInteger("qspark.bench.qat.batch", 128);
        EpochOrder order = new EpochOrder(n, batch, 32, 0);
        long steps = order.stepsPerEpoch();
        QatTrainer t = QatTrainer.start(worker, settings(steps), "table");
        long t0 = System.nanoTime();
        // -Dqspark.bench.qat.distill=W: cross-entropy plus W times distillation from the float model
        // (each output's MSE over its float variance on the first 1,000 training images)
        double distill = Double.parseDouble(System.getProperty("qspark.bench.qat.distill", "0"));
        String in = floatGraph.inputs().get(0).name(), out = floatGraph.outputs().get(0);
        QatLoss loss = new CrossEntropyLoss(out);
        if (distill > 0) loss = loss.plus(DistillationLoss.of(floatGraph, java.util.Map.of(in, x.slice0(0, 1000))), distill);
        try (QatLocal local = new QatLocal(worker, java.util.Map.of(in, x), labels, loss, order, 2)) {
          for (long done = 0; done < steps; ) {
            done = Math.min(steps, done + 50);
            var losses = local.train(t, done);
            System.out.printf(Locale.ROOT, "%s %s: step %d/%d, loss %.4f, %.0f images/s%n", model, c, done, steps,
                losses.get(losses.size() - 1), done * batch / ((System.nanoTime() - t0) / 1e9));
          }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        var params = settings(steps).learnThresholds() ? t.quantizers() : s.params();
        double qat = AdaQuantTest.top1(t.inference(), s.plan(), params, test, testLabels);
        String row = String.format(Locale.ROOT, "| %s | %s | %.2f | %.2f | %.0f s (%.0f images/s) | %s, distill %s |%n", model, c, ptq, qat, secs,
            steps * batch / secs, settings(steps), System.getProperty("qspark.bench.qat.distill", "0"));
        System.out.print("ROW " + row);
        rows.append(row);
      }
    }
    System.out.println("| model | bits | PTQ top-1 | QAT 1 epoch top-1 | training time | settings |");
    System.out.print(rows);
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What learning thresholds (TQT) costs and gives, resnet_s at W4A4 on 2 threads: two trainers
 * from the same calibration (first 1,000 training images), fixed fix_points and TQT, take turns
 * in rounds of {@code qspark.bench.tqt.steps} steps (global batch 128, micro-batches of 32, SGD
 * lr 1e-3 momentum 0.9, cosine, BatchNorm folded after 80%, thresholds at lr x
 * {@code qspark.bench.tqt.scale}) over the first {@code qspark.bench.tqt.images} training images;
 * per round the ratio of TQT's time to the fixed trainer's, reported as the median; then top-1
 * of both on the 10,000 test images, and how many fix_points moved.
 */
@Tag("bench")
class TqtBench {
  @Test
  void costAndTop1() throws Exception {
    int n = Integer.getInteger("qspark.bench.tqt.images", 4096);
    int per = Integer.getInteger("qspark.bench.tqt.steps", 4);
    double scale = Double.parseDouble(System.getProperty("qspark.bench.tqt.scale", "10"));
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", n);
    int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", n);
    AdaQuantTest.Setup s = AdaQuantTest.calibrate("resnet_s.onnx", 4);
    Graph floatGraph = Model.load(Shared.model("resnet_s.onnx")).graph();
    QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
    EpochOrder order = new EpochOrder(n, 128, 32, 0);
    long steps = order.stepsPerEpoch();
    QatTrainer.Settings fixed = new QatTrainer.Settings("sgd", 0.9, 0, new LrSchedule(LrSchedule.Kind.COSINE, 1e-3, 0, steps, 0, 1),
        Math.round(steps * 0.8), 0.1);
    QatTrainer.Settings learned = new QatTrainer.Settings(fixed.optimizer(), fixed.momentum(), fixed.weightDecay(), fixed.schedule(),
        fixed.freezeStep(), fixed.bnMomentum(), true, scale);
    QatTrainer a = QatTrainer.start(worker, fixed, "bench"), b = QatTrainer.start(worker, learned, "bench");
    List<Double> ratios = new ArrayList<>();
    try (QatLocal local = new QatLocal(worker, x, labels, order, 2)) {
      while (a.step() < steps) {
        long until = Math.min(steps, a.step() + per);
        long t0 = System.nanoTime();
        local.train(a, until);
        long t1 = System.nanoTime();
        List<Double> lb = local.train(b, until);
        long t2 = System.nanoTime();
        ratios.add((double) (t2 - t1) / (t1 - t0));
        System.out.printf(Locale.ROOT, "TQT bench: step %d/%d, fixed %.0f ms/step, TQT %.0f ms/step, TQT loss %.4f%n", until, steps,
            (t1 - t0) / 1e6 / per, (t2 - t1) / 1e6 / per, lb.get(lb.size() - 1));
      }
    }
    double[] r = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    Tensor test = Shared.testImages(10_000);
    int[] testLabels = Shared.testLabels(10_000);
    double ptq = AdaQuantTest.top1(s.graph(), s.plan(), s.params(), test, testLabels);
    double topFixed = AdaQuantTest.top1(a.inference(), s.plan(), s.params(), test, testLabels);
    double topTqt = AdaQuantTest.top1(b.inference(), s.plan(), b.quantizers(), test, testLabels);
    int moved = 0;
    for (String p : worker.thresholds().points()) {
      if (b.quantizers().activation(p).fixPoint() != s.params().activation(p).fixPoint()) moved++;
    }
    System.out.printf(Locale.ROOT, "TQT bench RESULT: %d images, %d steps; TQT/fixed step time median %.3f (%.3f-%.3f over %d rounds);"
        + " top-1 PTQ %.2f, fixed QAT %.2f, TQT %.2f; %d of %d fix_points moved%n", n, steps, r[r.length / 2], r[0], r[r.length - 1],
        r.length, ptq, topFixed, topTqt, moved, worker.thresholds().points().size());
    System.out.println("ratios " + Arrays.toString(r));
  }
}

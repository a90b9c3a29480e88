package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * TQT (trained log2 thresholds): the threshold gradient against finite differences, and QAT
 * on the shared resnet_s at W4A4 learning its activation thresholds.
 */
class TqtTest {
  /**
   * The threshold gradient is the exact derivative of a smooth surrogate: rounding's offset
   * round(x/s0) − x/s0 frozen at the current step s0 (the straight-through estimator), s taken
   * as the continuous 2^log_t / 2^(b−1) (ceil passed straight through): L(u) = Σ g·s(u)·
   * clip(x/s(u) + offset, qmin, qmax). Central differences of L at log_t = b − 1 − fp must match
   * TqtGrad's sum, inside the range and saturated on both sides; values within about half a
   * step of either end of the range (they round to qmin or qmax, where the surrogate has a kink
   * at s0, so only one-sided derivatives exist) are left out.
   */
  @Test
  void thresholdGradientIsTheSurrogatesDerivative() {
    Random r = new Random(11);
    for (Rounding rounding : Rounding.values()) {
      for (int bits : new int[] {4, 8}) {
        int fp = 3 - bits / 4;
        FixPoint q = new FixPoint(bits, fp, rounding);
        double s0 = q.step();
        int n = 400;
        float[] x = new float[n], g = new float[n];
        double[] offset = new double[n];
        int inside = 0, above = 0, below = 0;
        for (int k = 0; k < n; k++) {
          double v;
          do {
            v = (r.nextDouble() * 2 - 1) * 1.6 * (q.qmax() + 1);
          } while (v > q.qmax() - 0.6 && v < q.qmax() + 0.6 || v < q.qmin() + 0.6 && v > q.qmin() - 0.6);
          x[k] = (float) (v * s0);
          double scaled = x[k] / s0;
          offset[k] = rounding.round(scaled) - scaled;
          g[k] = (float) r.nextGaussian();
          if (v > q.qmax()) above++;
          else if (v < q.qmin()) below++;
          else inside++;
        }
        assertTrue(inside > 50 && above > 20 && below > 20, inside + " " + above + " " + below);
        double u0 = bits - 1 - fp, eps = 1e-5;
        double fd = (surrogate(x, g, offset, q, bits, u0 + eps) - surrogate(x, g, offset, q, bits, u0 - eps)) / (2 * eps);
        double analytic = TqtGrad.thresholdGradient(q, x, g);
        assertEquals(fd, analytic, 1e-6 * Math.max(1, Math.abs(fd)), rounding + " int" + bits);
      }
    }
  }

  private static double surrogate(float[] x, float[] g, double[] offset, FixPoint q, int bits, double u) {
    double s = Math.pow(2, u) / Math.pow(2, bits - 1), sum = 0;
    for (int k = 0; k < x.length; k++) sum += g[k] * s * Math.max(q.qmin(), Math.min(q.qmax(), x[k] / s + offset[k]));
    return sum;
  }

  /** The values' gradient is the straight-through estimator's: unchanged inside the range, 0 outside. */
  @Test
  void valueGradientIsStraightThroughInsideAndZeroOutside() {
    FixPoint q = new FixPoint(4, 2, Rounding.HALF_UP); // range [-2, 1.75]
    float[] x = {-3f, -2f, -0.3f, 0.1f, 1.75f, 1.8f, 5f, Float.NaN};
    float[] g = {1, 2, 3, 4, 5, 6, 7, 8};
    TqtGrad t = new TqtGrad(name -> 0, 1);
    t.backward("a", q, x, g);
    assertArrayEquals(new float[] {0, 2, 3, 4, 5, 0, 0, 0}, g);
    // -3 and 5 saturate: qmin, qmax; 1.8 too (qmax); -2, 1.75 are exact; -0.3 → round(-1.2) = -1: +0.2; 0.1 → 0: -0.4
    double expected = 0.25 * Math.log(2) * (1 * -8 + 3 * 0.2 + 4 * -0.4 + 6 * 7 + 7 * 7);
    assertEquals(expected, t.sums()[0], 1e-6);
    // a value of no learned point: only the mask
    float[] g2 = {1, 1};
    TqtGrad none = new TqtGrad(name -> -1, 1);
    none.backward("w", q, new float[] {0f, 9f}, g2);
    assertArrayEquals(new float[] {1, 0}, g2);
    assertEquals(0, none.sums()[0]);
  }

  @Tag("slow")
  @Test
  void thresholdsStartAtTheCalibrationMoveAndTrainDeterministically() throws Exception {
    AdaQuantTest.Setup s = AdaQuantTest.calibrate("resnet_s.onnx", 4);
    Graph floatGraph = Model.load(Shared.model("resnet_s.onnx")).graph();
    QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
    int n = 256, steps = 6;
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", n);
    int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", n);
    EpochOrder order = new EpochOrder(n, 64, 32, 5);
    QatTrainer.Settings fixed = QatTest.settings(4, steps);
    QatTrainer.Settings learned = new QatTrainer.Settings(fixed.optimizer(), fixed.momentum(), fixed.weightDecay(), fixed.schedule(),
        fixed.freezeStep(), fixed.bnMomentum(), true, 10);

    QatTrainer tqt = QatTrainer.start(worker, learned, "test");
    float[] initial = tqt.state().logThresholds();
    assertEquals(worker.thresholds().points().size(), initial.length);
    assertTrue(initial.length > 5, "resnet_s has more activation points than " + initial.length);
    // the first step's quantizers are the calibration's: the first forward is fixed QAT's, bit for bit
    assertEquals(s.params().activations(), tqt.quantizers().activations());
    QatTrainer plain = QatTrainer.start(worker, fixed, "test");
    List<Double> a, b, c;
    try (QatLocal one = new QatLocal(worker, x, labels, order, 1)) {
      a = one.train(tqt, steps);
      b = one.train(plain, 1);
    }
    assertEquals(b.get(0), a.get(0));
    float[] moved = tqt.state().logThresholds();
    int changed = 0, fixPoints = 0;
    QuantParams learnedParams = tqt.quantizers();
    for (int i = 0; i < moved.length; i++) {
      if (moved[i] != initial[i]) changed++;
      String p = worker.thresholds().points().get(i);
      if (learnedParams.activation(p).fixPoint() != s.params().activation(p).fixPoint()) fixPoints++;
    }
    System.out.printf("TQT, %d steps: %d of %d log thresholds moved, %d fix_points changed; losses %s%n", steps, changed,
        moved.length, fixPoints, a);
    assertTrue(changed > moved.length / 2, changed + " of " + moved.length + " thresholds moved");
    assertFalse(a.get(0).equals(a.get(steps - 1)));

    // 2 threads reduce the same parts in the same order: the same state, bit for bit
    QatTrainer again = QatTrainer.start(worker, learned, "test");
    try (QatLocal two = new QatLocal(worker, x, labels, order, 2)) {
      c = two.train(again, steps);
    }
    assertEquals(a, c);
    assertArrayEquals(tqt.state().toBytes(), again.state().toBytes());

    // frozen, the worker computes the deployed fake-quant model under the learned fix_points
    assertTrue(tqt.state().frozen());
    Graph inf = tqt.inference();
    QuantizedModel qm = new QuantizedModel(inf, s.plan(), learnedParams);
    Tensor batch = x.slice0(0, 16);
    float[] deployed = qm.run(qm.executor(1), Map.of(inf.inputs().get(0).name(), batch)).values().iterator().next().data();
    assertArrayEquals(deployed, worker.logits(tqt.weights(), batch).data());
  }
}

package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.Tensor;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * AdaRound's rounding variable against its definition (Nagel et al. 2020, eqs. 22-24) and its
 * gradients against central finite differences, in double; then the whole chain, a conv
 * with ReLU's squared error w.r.t. V through {@link LayerFit}, against finite differences of
 * a plain double-precision conv written here.
 */
class SoftRoundingTest {
  private static final FixPoint Q4 = new FixPoint(4, 3, Rounding.HALF_AWAY); // step 1/8, levels -8..7

  @Test
  void startsAtTheFloatWeightsAndRectifies() {
    for (double r = 0; r < 1; r += 0.0625) assertEquals(r, SoftRounding.h(SoftRounding.initial(r)), 1e-12, "h(V0) = " + r);
    assertEquals(0, SoftRounding.h(-10));
    assertEquals(1, SoftRounding.h(10));
    // sigmoid(V) * 1.2 - 0.1 at V = 0 is 1/2
    assertEquals(0.5, SoftRounding.h(0), 1e-15);
    float[] w = {0.30f, -0.52f, 0.0625f, 0.9f, -1.2f, 0.8749f};
    SoftRounding s = new SoftRounding(w, Q4);
    float[] soft = s.soft();
    // within the grid's range the soft weights start at the float weights; beyond it they clip
    for (int i = 0; i < w.length; i++) {
      double expect = Math.min(7 / 8.0, Math.max(-1, w[i]));
      assertEquals(expect, soft[i], 1e-6, "weight " + i);
    }
  }

  @Test
  void hardRoundingIsFloorOrCeilingByTheSignOfV() {
    float[] w = {0.30f, -0.52f, 0.0625f, 0.9f, -1.2f, 0.8749f};
    SoftRounding s = new SoftRounding(w, Q4);
    // at the start V >= 0 exactly where the fraction is >= 1/2: rounding to nearest, ties up
    assertArrayEquals(new float[] {0.25f, -0.5f, 0.125f, 0.875f, -1f, 0.875f}, s.hard());
    System.arraycopy(new float[] {3, -3, -3, 3, 3, -3}, 0, s.v, 0, 6);
    // 0.30 / 0.125 = 2.4: up -> 3/8; -0.52 / 0.125 = -4.16: down -> -5/8; 0.0625: down -> 0;
    // 0.9 = 7.2 steps: up would be 8, clipped to 7; -1.2: floor -10 + 1 clipped to -8; 0.8749: down -> 6/8
    assertArrayEquals(new float[] {0.375f, -0.625f, 0f, 0.875f, -1f, 0.75f}, s.hard());
  }

  @Test
  void derivativesMatchFiniteDifferences() {
    double eps = 1e-6;
    for (double v = -3; v <= 3; v += 0.37) {
      double fd = (SoftRounding.h(v + eps) - SoftRounding.h(v - eps)) / (2 * eps);
      assertEquals(fd, SoftRounding.dh(v), 1e-7, "dh at " + v);
      for (double beta : new double[] {20, 8, 2}) {
        double rfd = (SoftRounding.regularizer(v + eps, beta) - SoftRounding.regularizer(v - eps, beta)) / (2 * eps);
        assertEquals(rfd, SoftRounding.dRegularizer(v, beta), 1e-6 * Math.max(1, Math.abs(rfd)), "dreg at " + v + ", beta " + beta);
      }
    }
    // where the rectification clips, h is flat
    assertEquals(0, SoftRounding.dh(4));
    assertEquals(0, SoftRounding.dh(-4));
  }

  /** loss(V) = sum d_i * soft_i(V) + lambda * sum reg(V_i): its gradient against finite differences. */
  @Test
  void gradientOfALinearLossPlusRegularizer() {
    Random rnd = new Random(7);
    float[] w = new float[40];
    for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * 0.4);
    SoftRounding s = new SoftRounding(w, Q4);
    double[] d = new double[w.length];
    for (int i = 0; i < d.length; i++) d[i] = rnd.nextGaussian();
    double lambda = 0.3, beta = 6;
    double[] g = s.gradient(d, lambda, beta);
    double eps = 1e-4;
    for (int i = 0; i < w.length; i++) {
      double v0 = s.v[i];
      double up = loss(s, w, d, lambda, beta, i, v0 + eps), down = loss(s, w, d, lambda, beta, i, v0 - eps);
      assertEquals((up - down) / (2 * eps), g[i], 1e-4 * Math.max(1, Math.abs(g[i])), "dV_" + i);
    }
  }

  /** The loss with V_i set to v, computed in double from the definition (not through soft()). */
  private static double loss(SoftRounding s, float[] w, double[] d, double lambda, double beta, int i, double v) {
    double l = 0;
    for (int j = 0; j < w.length; j++) {
      double vj = j == i ? v : s.v[j];
      double level = Math.min(7, Math.max(-8, Math.floor(w[j] * 8.0) + SoftRounding.h(vj)));
      l += d[j] * level / 8 + lambda * SoftRounding.regularizer(vj, beta);
    }
    return l;
  }

  /**
   * The chain AdaRound steps: sum of (relu(conv(x, soft(V)) + b) - f)^2 w.r.t. V, i.e.
   * LayerFit's gradient w.r.t. the layer's weights, given the soft weights as they are (no
   * quantizer), through SoftRounding.gradient; against central differences of that error
   * computed by a direct double-precision conv.
   */
  @Test
  void layerErrorGradientThroughTheConvMatchesFiniteDifferences() {
    int n = 2, c = 2, h = 5, m = 3, k = 3;
    Random rnd = new Random(11);
    float[] x = new float[n * c * h * h], f = new float[n * m * h * h], w = new float[m * c * k * k], b = new float[m];
    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
    for (int i = 0; i < f.length; i++) f[i] = (float) Math.max(0, rnd.nextGaussian());
    for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * 0.3);
    for (int i = 0; i < b.length; i++) b[i] = (float) (rnd.nextGaussian() * 0.1);
    Attributes a = Attributes.empty().with("kernel_shape", new long[] {k, k}).with("pads", new long[] {1, 1, 1, 1})
        .with(Activation.FUSED, "Relu");
    Node node = new Node("conv", "Conv", List.of("x", "w", "b"), List.of("y"), a);
    LayerFit fit = new LayerFit(node);
    FixPoint bq = new FixPoint(16, 12, Rounding.HALF_AWAY);
    float[] bFake = new float[m];
    for (int i = 0; i < m; i++) bFake[i] = bq.fake(b[i]);
    SoftRounding s = new SoftRounding(w, Q4);
    for (int i = 0; i < s.v.length; i++) s.v[i] += (float) (rnd.nextGaussian() * 0.5); // away from the start
    int[] ws = {m, c, k, k};
    Tensor xt = Tensor.of(x, n, c, h, h), ft = Tensor.of(f, n, m, h, h);
    ExactGradient eg = new ExactGradient(w.length + m);
    fit.addGradients(xt, ft, new LayerWeights(s.soft(), b, null, bq), ws, 0, n, eg);
    double[] dSoft = java.util.Arrays.copyOf(eg.total().gradient(), w.length);
    double[] g = s.gradient(dSoft, 0, 2);
    double eps = 2e-3;
    int checked = 0;
    for (int i = 0; i < w.length; i++) {
      float v0 = s.v[i];
      s.v[i] = (float) (v0 + eps);
      double up = sse(x, s.soft(), bFake, f, n, c, h, m, k);
      s.v[i] = (float) (v0 - eps);
      double down = sse(x, s.soft(), bFake, f, n, c, h, m, k);
      s.v[i] = v0;
      double fd = (up - down) / (2 * eps);
      assertEquals(fd, g[i], 2e-3 * Math.max(1, Math.abs(fd)), "dV_" + i);
      if (g[i] != 0) checked++;
    }
    assertTrue(checked > w.length / 2, checked + " nonzero gradients");
    // the bias part is the error's gradient w.r.t. the (quantized) bias: finite differences on b
    double[] full = eg.total().gradient();
    for (int o = 0; o < m; o++) {
      float[] bu = bFake.clone(), bd = bFake.clone();
      bu[o] += 1e-3f;
      bd[o] -= 1e-3f;
      double fd = (sse(x, s.soft(), bu, f, n, c, h, m, k) - sse(x, s.soft(), bd, f, n, c, h, m, k)) / (bu[o] - bd[o]);
      assertEquals(fd, full[w.length + o], 2e-3 * Math.max(1, Math.abs(fd)), "db_" + o);
    }
  }

  /** sum (relu(conv3x3 pad 1 (x, w) + b) - f)^2, in double. */
  private static double sse(float[] x, float[] w, float[] b, float[] f, int n, int c, int h, int m, int k) {
    double e = 0;
    for (int i = 0; i < n; i++) {
      for (int o = 0; o < m; o++) {
        for (int y = 0; y < h; y++) {
          for (int z = 0; z < h; z++) {
            double acc = b[o];
            for (int ci = 0; ci < c; ci++) {
              for (int ky = 0; ky < k; ky++) {
                for (int kx = 0; kx < k; kx++) {
                  int yy = y + ky - 1, zz = z + kx - 1;
                  if (yy < 0 || yy >= h || zz < 0 || zz >= h) continue;
                  acc += (double) x[((i * c + ci) * h + yy) * h + zz] * w[((o * c + ci) * k + ky) * k + kx];
                }
              }
            }
            double d = Math.max(0, acc) - f[((i * m + o) * h + y) * h + z];
            e += d * d;
          }
        }
      }
    }
    return e;
  }
}

package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * QAT's BatchNorm backward against the textbook formulas in double (x^ from the double mean and
 * variance of u = z / d, du = scale / sigma (g - mean(g) - x^ mean(g x^)), dd = -sum(dz u)) on
 * plane sizes 1..224x224, channels up to 96, ReLU, Clip [0, 6] and no activation, with and
 * without divisor: within float accuracy. The reference masks on the forward's (unquantized)
 * output, so this also checks that the op's mask on the recomputed pre-activation decides the same.
 */
class QatBatchNormTest {
  private static final int[][] SHAPES = {{64, 96, 1}, {8, 5, 7}, {64, 32, 49}, {64, 16, 196}, {16, 4, 784}, {2, 2, 50176}};

  private static Map<String, Object> attrs(float eps, String act) {
    Map<String, Object> a = new HashMap<>();
    a.put("epsilon", eps);
    if (act != null) a.put("activation", act);
    if ("Clip".equals(act)) {
      a.put("activation_min", 0f);
      a.put("activation_max", 6f);
    }
    return a;
  }

  private static float[] gauss(Random r, int size, double mean, double std) {
    float[] x = new float[size];
    for (int i = 0; i < size; i++) x[i] = (float) (mean + std * r.nextGaussian());
    return x;
  }

  @Test
  void backwardMatchesDoubleFormulas() {
    Random r = new Random(7);
    for (int[] sh : SHAPES) {
      for (String act : new String[] {null, "Relu", "Clip"}) {
        for (boolean withDivisor : new boolean[] {false, true}) {
          check(r, sh, act, withDivisor, withDivisor ? 1e-3f : 1e-5f);
        }
      }
    }
  }

  private static void check(Random r, int[] sh, String act, boolean withDivisor, float eps) {
    int n = sh[0], c = sh[1], inner = sh[2], m = n * inner;
    String at = Arrays.toString(sh) + " " + act + (withDivisor ? " divisor" : "");
    Tensor z = Tensor.of(gauss(r, n * c * inner, 0.5, 3), n, c, inner);
    Tensor s = Tensor.of(gauss(r, c, 1, 0.3), c), b = Tensor.of(gauss(r, c, 0.5, 1), c);
    Tensor rm = Tensor.of(new float[c], c), rv = Tensor.of(new float[c], c);
    Tensor d = withDivisor ? Tensor.of(gauss(r, c, 2, 0.1), c) : null;
    Tensor dy = Tensor.of(gauss(r, z.size(), 0, 1), z.shape());
    Attributes a = new Attributes(attrs(eps, act));
    Tensor[] in = {z, s, b, rm, rv, d};
    Tensor[] outs = new QatBatchNorm(a).forward(in);
    Tensor[] got = new QatBatchNormGrad(a).backward(in, outs, dy);
    float[] zd = z.data(), y = outs[0].data(), gz = got[0].data();
    for (int ci = 0; ci < c; ci++) {
      double dv = withDivisor ? d.data()[ci] : 1.0;
      double[] u = new double[m], g = new double[m];
      double mu = 0, var = 0;
      for (int ni = 0; ni < n; ni++) {
        for (int i = 0; i < inner; i++) {
          int k = (ni * c + ci) * inner + i;
          u[ni * inner + i] = zd[k] / dv;
          mu += u[ni * inner + i];
          boolean pass = act == null || "Relu".equals(act) && y[k] > 0 || "Clip".equals(act) && y[k] > 0 && y[k] < 6;
          g[ni * inner + i] = pass ? dy.data()[k] : 0;
        }
      }
      mu /= m;
      for (double v : u) var += (v - mu) * (v - mu);
      var /= m;
      double inv = 1 / Math.sqrt(var + eps), sg = 0, sgx = 0, sgxAbs = 0;
      for (int j = 0; j < m; j++) {
        double xh = (u[j] - mu) * inv;
        sg += g[j];
        sgx += g[j] * xh;
        sgxAbs += Math.abs(g[j] * xh);
      }
      double k = s.data()[ci] * inv, dd = 0, maxDz = 0;
      double[] dz = new double[m];
      for (int j = 0; j < m; j++) {
        dz[j] = k * (g[j] - sg / m - (u[j] - mu) * inv * sgx / m) / dv;
        dd -= dz[j] * u[j];
        maxDz = Math.max(maxDz, Math.abs(dz[j]));
      }
      for (int ni = 0; ni < n; ni++) {
        for (int i = 0; i < inner; i++) {
          int idx = (ni * c + ci) * inner + i;
          double want = dz[ni * inner + i];
          assertTrue(Math.abs(gz[idx] - want) <= 2e-5 * maxDz + 1e-6 * Math.abs(want),
              at + " channel " + ci + " dz[" + idx + "] " + gz[idx] + " vs " + want);
        }
      }
      assertEquals(sgx, got[1].data()[ci], 1e-5 * sgxAbs + 1e-6, at + " dscale of channel " + ci);
      assertEquals(sg, got[2].data()[ci], 1e-5 * m, at + " dB of channel " + ci);
      if (withDivisor) {
        double scale = Math.abs(s.data()[ci]) * sgxAbs * eps * inv * inv / dv;
        assertEquals(dd, got[5].data()[ci], 1e-5 * scale + 1e-4 * Math.abs(dd), at + " d divisor of channel " + ci);
      }
    }
  }

  /** The same input gives the same bits, forward and backward. */
  @Test
  void sameInputSameBits() {
    Random r = new Random(8);
    Tensor z = Tensor.of(gauss(r, 64 * 8 * 196, 0.5, 3), 64, 8, 196);
    Tensor s = Tensor.of(gauss(r, 8, 1, 0.3), 8), b = Tensor.of(gauss(r, 8, 0.5, 1), 8);
    Tensor rm = Tensor.of(new float[8], 8), d = Tensor.of(gauss(r, 8, 2, 0.1), 8);
    Tensor dy = Tensor.of(gauss(r, z.size(), 0, 1), z.shape());
    Attributes a = new Attributes(attrs(1e-5f, "Clip"));
    Tensor[] in = {z, s, b, rm, rm, d};
    Tensor[] o1 = new QatBatchNorm(a).forward(in), o2 = new QatBatchNorm(a).forward(in);
    Tensor[] g1 = new QatBatchNormGrad(a).backward(in, o1, dy), g2 = new QatBatchNormGrad(a).backward(in, o2, dy);
    for (int i = 0; i < 3; i++) assertTrue(Arrays.equals(o1[i].data(), o2[i].data()), "forward output " + i);
    for (int i : new int[] {0, 1, 2, 5}) assertTrue(Arrays.equals(g1[i].data(), g2[i].data()), "gradient " + i);
  }
}

package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qspark.kernels.simd.VectorApi;
import io.qspark.kernels.graph.Attributes;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * BatchNorm's vector passes give bit for bit what the lane-emulating scalar passes give, on plane
 * sizes around and across the lane and chunk boundaries (1, 7, 49, 196, 784, 224x224), channels
 * 1..96, every activation the backward masks, with and without divisor, special values included;
 * and the fixed-order sums are accurate against double sums in index order.
 */
class BatchNormLoopsTest {
  private static final int[][] SHAPES = {
    {3, 1, 1}, {64, 96, 1}, {5, 3, 7}, {64, 32, 49}, {64, 16, 196}, {9, 2, 196}, {64, 4, 784}, {2, 3, 784}, {2, 2, 50176}};
  private static final Activation[] ACTS = {null, Activation.of("Relu", Attributes.empty()), Activation.clip(0f, 6f),
      Activation.of("LeakyRelu", new Attributes(Map.of("alpha", 0.1f))), Activation.of("Identity", Attributes.empty())};

  static float[] values(Random r, int size, float mean, float std) {
    float[] x = new float[size];
    for (int i = 0; i < size; i++) x[i] = mean + std * (float) r.nextGaussian();
    return x;
  }

  private static void sameBits(float[] want, float[] got, String what) {
    for (int i = 0; i < want.length; i++) {
      if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
        throw new AssertionError(what + " element " + i + ": scalar " + want[i] + ", vector " + got[i]);
      }
    }
  }

  private static void sameBits(double want, double got, String what) {
    assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), what + ": scalar " + want + ", vector " + got);
  }

  @Test
  void vectorPassesMatchTheScalarPassesBitForBit() {
    assumeTrue(VectorApi.PRESENT, "needs --add-modules jdk.incubator.vector (the surefire argLine has it)");
    Random r = new Random(11);
    for (int[] sh : SHAPES) {
      int n = sh[0], c = sh[1], inner = sh[2];
      float[] z = values(r, n * c * inner, 0.3f, 2f), dy = values(r, z.length, 0f, 1f);
      // kinks and special values land on lane and tail positions alike
      float[] special = {0f, -0f, 6f, Float.NaN, Float.MIN_VALUE, -Float.MIN_VALUE, 1e30f, -1e30f};
      for (int i = 0; i < special.length && i < z.length; i++) z[(i * 13) % z.length] = special[i];
      float[] d = values(r, c, 1.5f, 0.2f), centers = values(r, c, 0.5f, 1f);
      float[] mul = values(r, c, 1f, 0.5f), off = values(r, c, 0f, 1f), mean = values(r, c, 0.3f, 0.5f);
      String at = Arrays.toString(sh);
      BatchNormLoops.Planes all = new BatchNormLoops.Planes(n, c, inner, 0, c);
      double[] s0 = BatchNormLoops.sums(z, null, all, false), s1 = BatchNormLoops.sums(z, null, all, true);
      for (int ci = 0; ci < c; ci++) sameBits(s0[ci], s1[ci], at + " sum of channel " + ci);
      s0 = BatchNormLoops.sums(z, centers, all, false);
      s1 = BatchNormLoops.sums(z, centers, all, true);
      for (int ci = 0; ci < c; ci++) sameBits(s0[ci], s1[ci], at + " sum of squares of channel " + ci);
      float[] u0 = new float[z.length], u1 = new float[z.length];
      BatchNormLoops.divide(z, d, u0, all, false);
      BatchNormLoops.divide(z, d, u1, all, true);
      sameBits(u0, u1, at + " divide");
      for (Activation act : ACTS) {
        String a = at + " " + (act == null ? "none" : act.opType());
        float[] y0 = u0.clone(), y1 = u0.clone();
        BatchNormLoops.affine(y0, mul, off, act, all, false);
        BatchNormLoops.affine(y1, mul, off, act, all, true);
        sameBits(y0, y1, a + " affine");
        for (float[] dd : new float[][] {null, d}) {
          float[] g0 = new float[z.length], g1 = new float[z.length];
          BatchNormLoops.Forward f = new BatchNormLoops.Forward(dd, mul, off, act);
          double[][] r0 = BatchNormLoops.gradientSums(z, f, dy, mean, g0, all, false);
          double[][] r1 = BatchNormLoops.gradientSums(z, f, dy, mean, g1, all, true);
          sameBits(g0, g1, a + " masked g");
          for (int ci = 0; ci < c; ci++) {
            sameBits(r0[0][ci], r1[0][ci], a + " sum g of channel " + ci);
            sameBits(r0[1][ci], r1[1][ci], a + " sum g x of channel " + ci);
          }
          BatchNormLoops.gradientOutput(g0, z, mul, off, mean, all, false);
          BatchNormLoops.gradientOutput(g1, z, mul, off, mean, all, true);
          sameBits(g0, g1, a + " output");
        }
      }
    }
  }

  /** The mask on the pre-activation decides as ActivationGrad.fromInput does, kinks and NaN included. */
  @Test
  void maskDecidesAsTheActivationsDerivative() {
    float[] pre = {-1f, -0f, 0f, Float.MIN_VALUE, 3f, 6f, Math.nextDown(6f), 7f, Float.NaN, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, 1e-30f, 5f, -2f, 0.5f, 6.5f, 0f};
    int len = pre.length;
    float[] dy = values(new Random(4), len, 1f, 1f);
    for (Activation act : ACTS) {
      float[] want = dy.clone();
      if (act != null) io.qspark.kernels.train.ActivationGrad.fromInput(act, pre, want, 0, len);
      for (boolean simd : new boolean[] {false, true}) {
        if (simd && !VectorApi.PRESENT) continue;
        float[] g = new float[len];
        // mul 1, off 0, no divisor, one image of one channel: pre is z itself
        BatchNormLoops.gradientSums(pre, new BatchNormLoops.Forward(null, new float[] {1f}, new float[] {0f}, act), dy,
            new float[] {0f}, g, new BatchNormLoops.Planes(1, 1, len, 0, 1), simd);
        sameBits(want, g, (act == null ? "none" : act.opType()) + (simd ? " vector" : " scalar"));
      }
    }
  }

  /** Float lanes in chunks of 256 values stay within float accuracy of index-order double sums, even off-centre. */
  @Test
  void statisticsAreAccurateOnLargePlanesAndBatches() {
    Random r = new Random(12);
    for (int[] sh : new int[][] {{64, 1, 50176}, {64, 3, 49}, {128, 2, 196}, {1, 1, 7}}) {
      int n = sh[0], c = sh[1], inner = sh[2];
      float[] x = values(r, n * c * inner, 40f, 0.5f);
      for (int ci = 0; ci < c; ci++) {
        double s = 0;
        for (int ni = 0; ni < n; ni++) for (int i = 0; i < inner; i++) s += x[(ni * c + ci) * inner + i];
        double m = s / ((double) n * inner), s2 = 0;
        for (int ni = 0; ni < n; ni++) {
          for (int i = 0; i < inner; i++) {
            double e = x[(ni * c + ci) * inner + i] - m;
            s2 += e * e;
          }
        }
        double v = s2 / ((double) n * inner);
        double[] mean = new double[c], var = new double[c];
        BatchNormalization.channelStatistics(x, new BatchNormLoops.Planes(n, c, inner, ci, ci + 1), mean, var);
        double[] st = {mean[ci], var[ci]};
        String at = Arrays.toString(sh) + " channel " + ci;
        assertTrue(Math.abs(st[0] - m) <= 2e-7 * Math.abs(m), at + ": mean " + st[0] + " vs " + m);
        assertTrue(Math.abs(st[1] - v) <= 1e-5 * v, at + ": variance " + st[1] + " vs " + v);
        // the same input gives the same bits, whatever block of channels it is computed in
        double[][] a2 = BatchNormalization.batchStatistics(io.qspark.kernels.tensor.Tensor.of(x.clone(), n, c, inner));
        double[] again = {a2[0][ci], a2[1][ci]};
        assertEquals(Double.doubleToRawLongBits(st[0]), Double.doubleToRawLongBits(again[0]));
        assertEquals(Double.doubleToRawLongBits(st[1]), Double.doubleToRawLongBits(again[1]));
      }
    }
  }
}

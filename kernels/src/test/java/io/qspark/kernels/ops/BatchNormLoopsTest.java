package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qspark.kernels.exec.VectorApi;
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
      float[] d = values(r, c, 1.5f, 0.2f);
      for (int ci = 0; ci < c; ci += Math.max(1, c / 5)) {
        String at = Arrays.toString(sh) + " channel " + ci;
        sameBits(BatchNormLoops.Scalar.sum(z, ci, n, c, inner), SimdBatchNormLoops.sum(z, ci, n, c, inner), at + " sum");
        sameBits(BatchNormLoops.Scalar.sumSquares(z, 0.7f, ci, n, c, inner),
            SimdBatchNormLoops.sumSquares(z, 0.7f, ci, n, c, inner), at + " sumSquares");
        float[] u0 = new float[z.length], u1 = new float[z.length];
        BatchNormLoops.Scalar.divide(z, d[ci], u0, ci, n, c, inner);
        SimdBatchNormLoops.divide(z, d[ci], u1, ci, n, c, inner);
        sameBits(u0, u1, at + " divide");
        for (Activation act : ACTS) {
          String a = at + " " + (act == null ? "none" : act.opType());
          float[] y0 = u0.clone(), y1 = u0.clone();
          BatchNormLoops.Scalar.affine(y0, 1.7f, -0.4f, act, ci, n, c, inner);
          SimdBatchNormLoops.affine(y1, 1.7f, -0.4f, act, ci, n, c, inner);
          sameBits(y0, y1, a + " affine");
          for (boolean div : new boolean[] {false, true}) {
            float[] g0 = new float[z.length], g1 = new float[z.length];
            double[] s0 = BatchNormLoops.Scalar.gradientSums(z, div ? d[ci] : 1f, dy, 1.7f, -0.4f, act, 0.25f, g0, ci, n, c, inner);
            double[] s1 = SimdBatchNormLoops.gradientSums(z, div ? d[ci] : 1f, dy, 1.7f, -0.4f, act, 0.25f, g1, ci, n, c, inner);
            sameBits(g0, g1, a + " masked g");
            sameBits(s0[0], s1[0], a + " sum g");
            sameBits(s0[1], s1[1], a + " sum g x");
            BatchNormLoops.Scalar.gradientOutput(g0, z, 0.9f, -0.05f, 0.01f, ci, n, c, inner);
            SimdBatchNormLoops.gradientOutput(g1, z, 0.9f, -0.05f, 0.01f, ci, n, c, inner);
            sameBits(g0, g1, a + " output");
          }
        }
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
        double[] st = BatchNormalization.channelStatistics(x, ci, n, c, inner);
        String at = Arrays.toString(sh) + " channel " + ci;
        assertTrue(Math.abs(st[0] - m) <= 2e-7 * Math.abs(m), at + ": mean " + st[0] + " vs " + m);
        assertTrue(Math.abs(st[1] - v) <= 1e-5 * v, at + ": variance " + st[1] + " vs " + v);
        // the same input gives the same bits
        double[] again = BatchNormalization.channelStatistics(x.clone(), ci, n, c, inner);
        assertEquals(Double.doubleToRawLongBits(st[0]), Double.doubleToRawLongBits(again[0]));
        assertEquals(Double.doubleToRawLongBits(st[1]), Double.doubleToRawLongBits(again[1]));
      }
    }
  }
}

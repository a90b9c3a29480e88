package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HistogramTest {
  static float[] data(int n, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      double g = r.nextGaussian();
      x[i] = (float) (i % 3 == 0 ? Math.max(0, g) * 4 : i % 97 == 0 ? g * 100 : g);
    }
    x[5] = 0f;
    x[6] = -0f;
    x[7] = 1e-30f;
    return x;
  }

  /** Split into random parts, merged in random order and tree shape: always the same bytes. */
  @Test
  void mergeIsIndependentOfPartitioningAndOrder() {
    float[] x = data(50_000, 1);
    Histogram whole = new Histogram();
    whole.update(x);
    byte[] expected = whole.toByteArray();
    Random r = new Random(2);
    for (int trial = 0; trial < 20; trial++) {
      int parts = 1 + r.nextInt(9);
      List<Integer> cuts = new ArrayList<>();
      for (int i = 0; i < parts - 1; i++) cuts.add(r.nextInt(x.length));
      cuts.add(0);
      cuts.add(x.length);
      Collections.sort(cuts);
      List<Histogram> hs = new ArrayList<>();
      for (int i = 0; i + 1 < cuts.size(); i++) {
        Histogram h = new Histogram();
        h.update(x, cuts.get(i), cuts.get(i + 1));
        hs.add(h);
      }
      while (hs.size() > 1) {
        Collections.shuffle(hs, r);
        Histogram a = hs.remove(hs.size() - 1);
        Histogram b = hs.remove(hs.size() - 1);
        hs.add(r.nextBoolean() ? a.merge(b) : b.merge(a));
      }
      assertArrayEquals(expected, hs.get(0).toByteArray(), "trial " + trial);
    }
  }

  @Test
  void roundTripsThroughBytesAndStaysSmall() {
    Histogram h = new Histogram();
    h.update(data(100_000, 3));
    byte[] b = h.toByteArray();
    assertEquals(h, Histogram.fromByteArray(b));
    assertTrue(b.length < 16 * 1024, "serialized size " + b.length);
  }

  /** The counting-table path gives exactly the per-value loop's histogram, edge values included. */
  @Test
  void tablePathEqualsPerValueLoop() {
    Random r = new Random(11);
    float[][] cases = new float[6][];
    cases[0] = data(10_001, 5);
    cases[1] = new float[4096]; // all +0.0: one counter takes every increment
    cases[2] = new float[5000];
    for (int i = 0; i < cases[2].length; i++) cases[2][i] = -Math.abs((float) r.nextGaussian()); // negatives only
    cases[3] = data(3000, 6);
    cases[3][17] = Float.NaN;
    cases[3][18] = Float.NEGATIVE_INFINITY;
    cases[3][2999] = Float.POSITIVE_INFINITY;
    cases[4] = new float[2500];
    float[] edges = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 0x1p-24f, -0x1p-24f,
        Math.nextDown(0x1p-24f), 0x1.fep127f, 1f, -1f, 0.5f, -0f};
    for (int i = 0; i < cases[4].length; i++) cases[4][i] = edges[i % edges.length];
    cases[5] = data(2048, 7);
    for (float[] x : cases) {
      Histogram table = new Histogram(), each = new Histogram();
      table.update(x, 0, x.length);
      table.update(x, 1, x.length);
      each.updateEach(x, 0, x.length);
      each.updateEach(x, 1, x.length);
      assertArrayEquals(each.toByteArray(), table.toByteArray());
      assertEquals(each.nonFinite(), table.nonFinite());
    }
  }

  @Test
  void summariesAndNonFinite() {
    Histogram h = new Histogram();
    h.update(new float[] {1f, -2f, Float.NaN, 3f, Float.POSITIVE_INFINITY, 0f});
    assertEquals(4, h.count());
    assertEquals(2, h.nonFinite());
    assertEquals(-2f, h.min());
    assertEquals(3f, h.max());
  }

  @Test
  void percentileIsAtBinResolution() {
    float[] x = new float[10_000];
    for (int i = 0; i < x.length; i++) x[i] = i / 100f; // 0 .. 99.99
    Histogram h = new Histogram();
    h.update(x);
    double p99 = h.percentileAbs(0.99);
    assertEquals(99.0, p99, 99.0 / 64, "" + p99);
    assertEquals(h.max(), h.percentileAbs(1.0), 99.99 / 64);
  }

  /** Each bin maps to one integer; only the midpoint stands in for the values in it. */
  @Test
  void squaredErrorOfValuesOnTheGridIsZero() {
    FixPoint q = new FixPoint(8, 4, Rounding.HALF_UP);
    Histogram h = new Histogram();
    float[] x = new float[256];
    for (int i = 0; i < 256; i++) x[i] = (i - 128) / 16f;
    h.update(x);
    // a midpoint is at most half a bin (|v| / 256) from the value it stands for
    double fine = h.squaredError(q);
    assertTrue(fine <= 256 * Math.pow(8.0 / 256, 2), "" + fine);
    FixPoint coarse = new FixPoint(8, 2, Rounding.HALF_UP);
    assertTrue(h.squaredError(coarse) > 4 * fine, "coarser grid loses");
  }
}

package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FixPointSearchTest {
  static Histogram gaussianWithOutliers(long seed) {
    Random r = new Random(seed);
    float[] x = new float[200_000];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    x[0] = 40f; // a single outlier far beyond the bulk
    Histogram h = new Histogram();
    h.update(x);
    return h;
  }

  @Test
  void maxminNeverOverflows() {
    Histogram h = gaussianWithOutliers(1);
    int fp = new FixPointSearch(Method.MAXMIN, 99.99).choose(h, 8, Rounding.HALF_UP);
    assertEquals(FixPoint.noOverflow(h.min(), h.max(), 8), fp);
    assertTrue(127 * Math.scalb(1.0, -fp) >= 40);
  }

  @Test
  void clippingMethodsCutTheOutlier() {
    Histogram h = gaussianWithOutliers(2);
    int fp0 = FixPoint.noOverflow(h.min(), h.max(), 8);
    for (Method m : new Method[] {Method.PERCENTILE, Method.MSE, Method.ENTROPY}) {
      int fp = new FixPointSearch(m, 99.99).choose(h, 8, Rounding.HALF_UP);
      assertTrue(fp > fp0, m + " chose " + fp + ", no-overflow is " + fp0);
      assertTrue(fp <= fp0 + FixPointSearch.EXTRA_CANDIDATES || m == Method.PERCENTILE, m + " " + fp);
    }
  }

  @Test
  void mseKeepsTheRangeWhenNothingIsAnOutlier() {
    float[] x = new float[4096];
    for (int i = 0; i < x.length; i++) x[i] = (i % 256 - 128) / 32f; // uniform on [-4, 4)
    Histogram h = new Histogram();
    h.update(x);
    int fp = new FixPointSearch(Method.MSE, 99.99).choose(h, 8, Rounding.HALF_UP);
    assertEquals(FixPoint.noOverflow(h.min(), h.max(), 8), fp);
  }

  @Test
  void emptyTensorGetsTheCap() {
    assertEquals(12, new FixPointSearch(Method.MSE, 99.99).choose(new Histogram(), 8, Rounding.HALF_UP));
  }
}

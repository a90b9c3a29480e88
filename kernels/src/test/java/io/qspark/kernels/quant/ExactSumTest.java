package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.qspark.kernels.testing.JavaSerialization;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ExactSumTest {
  /** Terms over 80 octaves, some far outside, subnormals and zeros: a double sum depends on their order. */
  private static double[] terms() {
    Random r = new Random(7);
    double[] v = new double[20_000];
    for (int i = 0; i < v.length; i++) v[i] = Math.scalb(r.nextDouble(), r.nextInt(80) - 40);
    v[3] = Double.MIN_VALUE;
    v[4] = 0;
    v[5] = 0x1p-600;
    v[6] = 0x1p60;
    return v;
  }

  @Test
  void totalIsTheExactSumForAnyGroupingAndSurvivesSerialization() throws Exception {
    double[] v = terms();
    BigDecimal exact = BigDecimal.ZERO;
    for (double d : v) exact = exact.add(new BigDecimal(d));
    ExactSum whole = new ExactSum();
    for (double d : v) whole.add(d);
    assertEquals(0, exact.compareTo(whole.value()));
    // three parts, added back to front and merged in another order
    ExactSum[] parts = {new ExactSum(), new ExactSum(), new ExactSum()};
    for (int i = v.length - 1; i >= 0; i--) parts[i % 3].add(v[i]);
    ExactSum merged = JavaSerialization.roundTrip(parts[2]).merge(JavaSerialization.roundTrip(parts[0]))
        .merge(JavaSerialization.roundTrip(parts[1]));
    assertEquals(0, exact.compareTo(merged.value()));
    double forward = 0, backward = 0;
    for (double d : v) forward += d;
    for (int i = v.length - 1; i >= 0; i--) backward += v[i];
    assertNotEquals(forward, backward, "the terms should make a plain double sum order-dependent");
  }

  /** The float paths: exact squares, any split, mixed with the double path, beyond one flush. */
  @Test
  void squaresOfFloatsAreExactAndOrderFree() throws Exception {
    Random r = new Random(11);
    int n = 100_000; // three flushes
    float[] x = new float[n], y = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) Math.scalb(r.nextGaussian(), r.nextInt(60) - 30);
      y[i] = (float) (Math.rint(x[i] * 64) / 64); // a fix_point 6 quantizer, no clipping
    }
    x[0] = Float.MIN_VALUE;
    x[1] = -0f;
    x[2] = 3e38f;
    y[2] = 0; // a difference that is a float and large
    x[3] = 3e10f;
    y[3] = 1; // 3e10 - 1 is no float: the double path
    BigDecimal squares = BigDecimal.ZERO, errors = BigDecimal.ZERO;
    for (int i = 0; i < n; i++) {
      squares = squares.add(new BigDecimal((double) x[i]).pow(2));
      double d = (double) x[i] - y[i];
      errors = errors.add((float) d == d ? new BigDecimal(d).pow(2) : new BigDecimal(d * d));
    }
    double d3 = (double) x[3] - y[3];
    assertNotEquals((double) (float) d3, d3, "one difference takes the double path");
    ExactSum s = new ExactSum(), e = new ExactSum();
    s.addSquares(x);
    e.addSquaredErrors(x, y);
    assertEquals(0, squares.compareTo(s.value()));
    assertEquals(0, errors.compareTo(e.value()));
    // split at odd places, merged after serialization, one part through the double path
    ExactSum a = new ExactSum(), b = new ExactSum(), c = new ExactSum();
    a.addSquares(java.util.Arrays.copyOfRange(x, 0, 777));
    b.addSquares(java.util.Arrays.copyOfRange(x, 777, 60_001));
    for (int i = 60_001; i < n; i++) c.add((double) x[i] * x[i]);
    assertEquals(0, squares.compareTo(JavaSerialization.roundTrip(c).merge(JavaSerialization.roundTrip(a)).merge(b).value()));
    ExactSum nan = new ExactSum();
    nan.addSquares(new float[] {1, Float.NaN});
    assertThrows(IllegalArgumentException.class, nan::value);
  }

  @Test
  void decibelsAndRefusals() {
    ExactSum s = new ExactSum(), n = new ExactSum();
    s.add(100);
    n.add(1);
    assertEquals(20.0, ExactSum.decibels(s, n), 1e-12);
    assertEquals(Double.POSITIVE_INFINITY, ExactSum.decibels(s, new ExactSum()));
    assertThrows(IllegalArgumentException.class, () -> s.add(-1));
    assertThrows(IllegalArgumentException.class, () -> s.add(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> s.add(Double.POSITIVE_INFINITY));
  }

}

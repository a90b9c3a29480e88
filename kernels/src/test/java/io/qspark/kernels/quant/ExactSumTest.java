package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
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
    ExactSum merged = roundTrip(parts[2]).merge(roundTrip(parts[0])).merge(roundTrip(parts[1]));
    assertEquals(0, exact.compareTo(merged.value()));
    double forward = 0, backward = 0;
    for (double d : v) forward += d;
    for (int i = v.length - 1; i >= 0; i--) backward += v[i];
    assertNotEquals(forward, backward, "the terms should make a plain double sum order-dependent");
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

  private static ExactSum roundTrip(ExactSum s) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ObjectOutputStream o = new ObjectOutputStream(b)) {
      o.writeObject(s);
    }
    try (ObjectInputStream i = new ObjectInputStream(new ByteArrayInputStream(b.toByteArray()))) {
      return (ExactSum) i.readObject();
    }
  }
}

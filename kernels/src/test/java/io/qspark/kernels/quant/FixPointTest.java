package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FixPointTest {
  @Test
  void dpuRoundingSendsTiesTowardPlusInfinity() {
    FixPoint q = new FixPoint(8, 0, Rounding.HALF_UP);
    assertEquals(3, q.quantize(2.5));
    assertEquals(-2, q.quantize(-2.5));
    assertEquals(-3, q.quantize(-2.5000001));
    assertEquals(0, q.quantize(-0.5));
    assertEquals(1, q.quantize(0.5));
  }

  @Test
  void roundHalfAwayAndHalfEven() {
    FixPoint away = new FixPoint(8, 0, Rounding.HALF_AWAY);
    FixPoint even = new FixPoint(8, 0, Rounding.HALF_EVEN);
    assertEquals(3, away.quantize(2.5));
    assertEquals(-3, away.quantize(-2.5));
    assertEquals(2, even.quantize(2.5));
    assertEquals(-2, even.quantize(-2.5));
    assertEquals(4, even.quantize(3.5));
  }

  /** Every tie (j + 0.5) * 2^-fp and saturation on both ends, for every bit width. */
  @ParameterizedTest
  @EnumSource(Rounding.class)
  void tiesAndSaturationForEveryWidth(Rounding r) {
    for (int bits = FixPoint.MIN_BITS; bits <= FixPoint.MAX_BITS; bits++) {
      for (int fp : new int[] {-3, 0, 5}) {
        FixPoint q = new FixPoint(bits, fp, r);
        double step = Math.scalb(1.0, -fp);
        for (int j = q.qmin(); j < q.qmax(); j++) {
          double tie = (j + 0.5) * step;
          long want;
          switch (r) {
            case HALF_UP: want = j + 1; break;
            case HALF_AWAY: want = tie < 0 ? j : j + 1; break;
            default: want = (j % 2 == 0) ? j : j + 1; break;
          }
          assertEquals(want, q.quantize(tie), q + " tie " + tie);
          assertEquals(j, q.quantize(j * step), q + " exact " + j);
        }
        assertEquals(q.qmax(), q.quantize((q.qmax() + 0.5) * step), "top tie saturates");
        assertEquals(q.qmax(), q.quantize(1e30), "saturates high");
        assertEquals(q.qmin(), q.quantize(-1e30), "saturates low");
        assertEquals(q.qmin(), q.quantize((q.qmin() - 0.49) * step));
      }
    }
  }

  /**
   * The array kernel is bit-exact with the scalar reference on random and boundary inputs, for
   * power-of-two steps and float steps (including ONNX's 32-bit biases, which take the scalar
   * loops).
   */
  @ParameterizedTest
  @EnumSource(Rounding.class)
  void kernelMatchesReference(Rounding r) {
    Random rnd = new Random(42);
    java.util.List<FixPoint> qs = new java.util.ArrayList<>();
    for (int bits = FixPoint.MIN_BITS; bits <= FixPoint.MAX_BITS; bits++) {
      for (int fp = -4; fp <= 16; fp += 2) qs.add(new FixPoint(bits, fp, r));
      for (int k = 0; k < 4; k++) qs.add(FixPoint.ofStep(bits, (float) Math.scalb(1 + rnd.nextDouble(), rnd.nextInt(20) - 14), r, true));
    }
    for (float s : new float[] {0.1f, 3.7e-5f, 1f / 3}) qs.add(FixPoint.ofStep(32, s, r, true));
    qs.add(FixPoint.ofStep(8, 0.05f, r, false));
    float[] x = new float[20_000];
    for (FixPoint q : qs) {
      int bits = Math.min(q.bits(), 24);
      float step = q.step();
      for (int i = 0; i < x.length; i++) {
        switch (i % 4) {
          case 0: x[i] = (float) (rnd.nextGaussian() * q.maxValue()); break;
          case 1: x[i] = (rnd.nextInt(1 << bits) - (1 << (bits - 1)) + 0.5f) * step; break;
          case 2: x[i] = (float) (rnd.nextGaussian() * 1e6); break;
          default: x[i] = Math.nextAfter((rnd.nextInt(64) - 32 + 0.5f) * step, rnd.nextBoolean() ? 1e9 : -1e9); break;
        }
      }
      float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f, Float.MIN_VALUE,
          -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, -0.5f * step, 0.5f * step, -1.5f * step};
      for (int k = 0; k < specials.length; k++) x[101 + 7 * k] = specials[k];
      float[] y = new float[x.length];
      FakeQuant.apply(q, x, y, 0, x.length);
      for (int i = 0; i < x.length; i++) {
        assertEquals(Float.floatToIntBits(q.fake(x[i])), Float.floatToIntBits(y[i]), q + " x=" + x[i]);
      }
    }
  }

  /**
   * The vector loops decide ties arithmetically, from v - rint(v) (FakeQuantSimd.halfUp): every
   * float of magnitude in [1/8, 2), where v - rint(v) comes closest to 0.5 without being it, and the three
   * floats each side of every half-integer a 16-bit grid reaches, against the scalar reference.
   */
  @ParameterizedTest
  @EnumSource(Rounding.class)
  void kernelMatchesReferenceOnEveryFloatNearTies(Rounding r) {
    FixPoint q = new FixPoint(16, 0, r);
    float[] x = new float[1 << 20];
    float[] y = new float[x.length];
    int n = 0;
    java.util.function.IntConsumer flush = len -> {
      FakeQuant.apply(q, x, y, 0, len);
      for (int i = 0; i < len; i++) {
        int want = Float.floatToIntBits(q.fake(x[i]));
        if (want != Float.floatToIntBits(y[i])) assertEquals(want, Float.floatToIntBits(y[i]), q + " x=" + x[i]);
      }
    };
    // every bit pattern of magnitude in [1/8, 2), both signs (below 1/4, v - rint(v) = v is far from 0.5)
    for (int bits = Float.floatToIntBits(0.125f); bits < Float.floatToIntBits(2f); bits++) {
      x[n++] = Float.intBitsToFloat(bits);
      x[n++] = -Float.intBitsToFloat(bits);
      if (n == x.length) {
        flush.accept(n);
        n = 0;
      }
    }
    for (int j = q.qmin() - 1; j <= q.qmax(); j++) {
      float tie = j + 0.5f;
      float lo = tie, hi = tie;
      x[n++] = tie;
      for (int k = 0; k < 3; k++) {
        lo = Math.nextDown(lo);
        hi = Math.nextUp(hi);
        x[n++] = lo;
        x[n++] = hi;
      }
      if (n > x.length - 8) {
        flush.accept(n);
        n = 0;
      }
    }
    flush.accept(n);
  }

  @Test
  void noOverflowPosition() {
    assertEquals(6, FixPoint.noOverflow(-1.0, 1.0, 8)); // 127 * 2^-6 = 1.98
    assertEquals(7, FixPoint.noOverflow(-1.0, 0.99, 8)); // -128 * 2^-7 = -1 fits
    assertEquals(6, FixPoint.noOverflow(0, 127.5 / 64, 8)); // exactly the rounding margin
    assertEquals(5, FixPoint.noOverflow(0, Math.nextUp(127.5 / 64), 8));
    assertEquals(-1, FixPoint.noOverflow(0, 200, 8));
    assertEquals(4, FixPoint.noOverflow(-1.0, 1.0, 6)); // 31 * 2^-4
    assertEquals(12, FixPoint.noOverflow(0, 0, 8)); // all zeros: the cap
  }

  @Test
  void rejectsBadWidths() {
    assertThrows(IllegalArgumentException.class, () -> new FixPoint(1, 0, Rounding.HALF_UP));
    assertThrows(IllegalArgumentException.class, () -> new FixPoint(17, 0, Rounding.HALF_UP));
  }
}

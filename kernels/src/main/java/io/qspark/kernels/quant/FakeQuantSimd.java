package io.qspark.kernels.quant;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FakeQuant}'s loops a vector of lanes ({@link VectorWidth}) at a time, each lane computing exactly what the scalar
 * loop computes. The clamped value v (|v| <= 2^16 + 1) is rounded to the nearest integer, ties
 * to even, by adding and subtracting 1.5 * 2^23 (the sum's unit in the last place is 1, and
 * both steps are exact but for that rounding); the other rules then differ from it only on
 * exact ties, where the remainder v - rint(v) is exactly 0.5. NaN becomes 0, as in the scalar loop.
 */
final class FakeQuantSimd {
  private static final VectorSpecies<Float> F = VectorWidth.FLOATS;
  private static final int L = F.length();
  private static final float MAGIC = 0x1.8p23f;

  private FakeQuantSimd() {}

  /** Processes the whole vectors of [from, to); returns where the scalar loop takes over. */
  static int apply(FixPoint q, float[] src, float[] dst, int from, int to) {
    // the scalar loop's step and bounds: clamped to one past the integer range, then saturated
    final float step = q.step();
    final float lo = q.qmin() - 1f, hi = q.qmax() + 1f;
    final float qlo = q.qmin(), qhi = q.qmax();
    int i = from;
    // x / 2^-fp and x * 2^fp are the same real number, so they round to the same float; the
    // multiplication is several times cheaper than a vector division
    int e = Math.getExponent(step);
    boolean pow2 = e > Float.MIN_EXPONENT && e < Float.MAX_EXPONENT && step == Math.scalb(1f, e);
    float inv = pow2 ? Math.scalb(1f, -e) : Float.NaN;
    switch (q.rounding()) {
      case HALF_UP:
        for (; i + L <= to; i += L) {
          FloatVector v = scaled(FloatVector.fromArray(F, src, i), pow2, inv, step).max(lo).min(hi);
          halfUp(v).max(qlo).min(qhi).mul(step).intoArray(dst, i);
        }
        break;
      case HALF_AWAY:
        for (; i + L <= to; i += L) {
          FloatVector v = scaled(FloatVector.fromArray(F, src, i), pow2, inv, step).max(lo).min(hi);
          IntVector sign = v.reinterpretAsInts().and(0x80000000);
          FloatVector r = halfUp(v.abs()).reinterpretAsInts().or(sign).reinterpretAsFloats().add(0f);
          r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
        }
        break;
      case HALF_EVEN:
        for (; i + L <= to; i += L) {
          FloatVector v = scaled(FloatVector.fromArray(F, src, i), pow2, inv, step).max(lo).min(hi);
          rint(v).add(0f).max(qlo).min(qhi).mul(step).intoArray(dst, i);
        }
        break;
      default:
        throw new AssertionError(q.rounding());
    }
    return i;
  }

  /** x / step, NaN as 0. */
  private static FloatVector scaled(FloatVector x, boolean pow2, float inv, float step) {
    FloatVector v = pow2 ? x.mul(inv) : x.div(step);
    return v.blend(0f, v.test(VectorOperators.IS_NAN));
  }

  private static FloatVector rint(FloatVector v) {
    return v.add(MAGIC).sub(MAGIC);
  }

  /** floor(v + 0.5): rint moves ties to even, so a tie rint left below v goes up by one. */
  private static FloatVector halfUp(FloatVector v) {
    FloatVector r = rint(v);
    VectorMask<Float> tieDown = v.sub(r).compare(VectorOperators.EQ, 0.5f);
    return r.blend(r.add(1f), tieDown);
  }
}

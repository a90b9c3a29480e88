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

  /**
   * Processes the whole vectors of [from, to); returns where the scalar loop takes over. Each
   * rounding's loop is a method of its own: in one method, C2 stopped intrinsifying the vector
   * operations of whichever loop ran after the first (measured: 0.4 ns/value for the first
   * rounding a JVM used, 4-9 ns for a later one, the vectors boxed on the heap).
   */
  static int apply(FixPoint q, float[] src, float[] dst, int from, int to) {
    // x / 2^-fp and x * 2^fp are the same real number, so they round to the same float; the
    // multiplication is several times cheaper than a vector division
    float step = q.step();
    int e = Math.getExponent(step);
    boolean pow2 = e > Float.MIN_EXPONENT && e < Float.MAX_EXPONENT && step == Math.scalb(1f, e);
    float inv = pow2 ? Math.scalb(1f, -e) : Float.NaN;
    switch (q.rounding()) {
      case HALF_UP:
        return halfUpLoop(q, pow2, inv, src, dst, from, to);
      case HALF_AWAY:
        return halfAwayLoop(q, pow2, inv, src, dst, from, to);
      case HALF_EVEN:
        return halfEvenLoop(q, pow2, inv, src, dst, from, to);
      default:
        throw new AssertionError(q.rounding());
    }
  }

  // the scalar loop's step and bounds: clamped to one past the integer range, then saturated

  private static int halfUpLoop(FixPoint q, boolean pow2, float inv, float[] src, float[] dst, int from, int to) {
    final float step = q.step(), lo = q.qmin() - 1f, hi = q.qmax() + 1f, qlo = q.qmin(), qhi = q.qmax();
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = scaled(FloatVector.fromArray(F, src, i), pow2, inv, step).max(lo).min(hi);
      halfUp(v).max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfAwayLoop(FixPoint q, boolean pow2, float inv, float[] src, float[] dst, int from, int to) {
    final float step = q.step(), lo = q.qmin() - 1f, hi = q.qmax() + 1f, qlo = q.qmin(), qhi = q.qmax();
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = scaled(FloatVector.fromArray(F, src, i), pow2, inv, step).max(lo).min(hi);
      IntVector sign = v.reinterpretAsInts().and(0x80000000);
      FloatVector r = halfUp(v.abs()).reinterpretAsInts().or(sign).reinterpretAsFloats().add(0f);
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfEvenLoop(FixPoint q, boolean pow2, float inv, float[] src, float[] dst, int from, int to) {
    final float step = q.step(), lo = q.qmin() - 1f, hi = q.qmax() + 1f, qlo = q.qmin(), qhi = q.qmax();
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = scaled(FloatVector.fromArray(F, src, i), pow2, inv, step).max(lo).min(hi);
      rint(v).add(0f).max(qlo).min(qhi).mul(step).intoArray(dst, i);
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

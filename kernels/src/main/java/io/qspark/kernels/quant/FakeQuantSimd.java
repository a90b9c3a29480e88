package io.qspark.kernels.quant;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
    // x / 2^-fp and x * 2^fp are the same real number, so they round to the same float; the
    // multiplication is several times cheaper than a vector division
    int e = Math.getExponent(step);
    boolean pow2 = e > Float.MIN_EXPONENT && e < Float.MAX_EXPONENT && step == Math.scalb(1f, e);
    Bounds b = new Bounds(lo, hi, qlo, qhi, step);
    // one loop per rounding rule and kind of step, each in a method of its own: C2 compiles a
    // method with all six loops reached (as every real model reaches them) beyond what it inlines,
    // and the vectors then fall back to Java code, 2-5x slower (FakeQuantBench)
    switch (q.rounding()) {
      case HALF_UP:
        return pow2 ? halfUpMul(src, dst, from, to, Math.scalb(1f, -e), b) : halfUpDiv(src, dst, from, to, b);
      case HALF_AWAY:
        return pow2 ? halfAwayMul(src, dst, from, to, Math.scalb(1f, -e), b) : halfAwayDiv(src, dst, from, to, b);
      case HALF_EVEN:
        return pow2 ? halfEvenMul(src, dst, from, to, Math.scalb(1f, -e), b) : halfEvenDiv(src, dst, from, to, b);
      default:
        throw new AssertionError(q.rounding());
    }
  }

  /** The clamp before rounding (one past the integer range), the saturation after it, and the step. */
  private record Bounds(float lo, float hi, float qlo, float qhi, float step) {}

  // Each loop is written out in full, with no helper taking or returning a vector: where C2 compiles
  // such a helper on its own instead of inlining it (it did, for clamp and halfUp, in a whole
  // AdaRound run), the vectors crossing the call are boxed and every operation falls back to Java
  // code. The three steps of every loop, in order:
  //  clamp: v = x / step, NaN as 0 (NaN != NaN), clamped to one past the integer range;
  //  round: r = rint(v) by adding and subtracting 1.5 * 2^23 (see the class comment); half up adds
  //    one where v - r is exactly 0.5: d = v - r is exact and a multiple of ulp(v) >= 2^-25 wherever
  //    d can be near 0.5 (|v| >= 1/4), so u = 2d - 1 (exact by Sterbenz's lemma) is 0 on a tie and
  //    at most -2^-24 otherwise, and max(u * 2^25, -1) + 1 is 1 on a tie and 0 otherwise (a masked
  //    blend there fell back to Java code too); half away is half up on |v| with the sign put back,
  //    -0 made +0 by adding 0;
  //  store: saturated to the integer range, times the step.

  private static int halfUpMul(float[] src, float[] dst, int from, int to, float inv, Bounds b) {
    final float lo = b.lo, hi = b.hi, qlo = b.qlo, qhi = b.qhi, step = b.step;
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, src, i).mul(inv);
      v = v.blend(0f, v.compare(VectorOperators.NE, v)).max(lo).min(hi);
      FloatVector r = v.add(MAGIC).sub(MAGIC);
      r = r.add(v.sub(r).mul(2f).sub(1f).mul(0x1p25f).max(-1f).add(1f));
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfUpDiv(float[] src, float[] dst, int from, int to, Bounds b) {
    final float lo = b.lo, hi = b.hi, qlo = b.qlo, qhi = b.qhi, step = b.step;
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, src, i).div(step);
      v = v.blend(0f, v.compare(VectorOperators.NE, v)).max(lo).min(hi);
      FloatVector r = v.add(MAGIC).sub(MAGIC);
      r = r.add(v.sub(r).mul(2f).sub(1f).mul(0x1p25f).max(-1f).add(1f));
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfAwayMul(float[] src, float[] dst, int from, int to, float inv, Bounds b) {
    final float lo = b.lo, hi = b.hi, qlo = b.qlo, qhi = b.qhi, step = b.step;
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, src, i).mul(inv);
      v = v.blend(0f, v.compare(VectorOperators.NE, v)).max(lo).min(hi);
      IntVector sign = v.reinterpretAsInts().and(0x80000000);
      FloatVector a = v.abs();
      FloatVector r = a.add(MAGIC).sub(MAGIC);
      r = r.add(a.sub(r).mul(2f).sub(1f).mul(0x1p25f).max(-1f).add(1f));
      r = r.reinterpretAsInts().or(sign).reinterpretAsFloats().add(0f);
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfAwayDiv(float[] src, float[] dst, int from, int to, Bounds b) {
    final float lo = b.lo, hi = b.hi, qlo = b.qlo, qhi = b.qhi, step = b.step;
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, src, i).div(step);
      v = v.blend(0f, v.compare(VectorOperators.NE, v)).max(lo).min(hi);
      IntVector sign = v.reinterpretAsInts().and(0x80000000);
      FloatVector a = v.abs();
      FloatVector r = a.add(MAGIC).sub(MAGIC);
      r = r.add(a.sub(r).mul(2f).sub(1f).mul(0x1p25f).max(-1f).add(1f));
      r = r.reinterpretAsInts().or(sign).reinterpretAsFloats().add(0f);
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfEvenMul(float[] src, float[] dst, int from, int to, float inv, Bounds b) {
    final float lo = b.lo, hi = b.hi, qlo = b.qlo, qhi = b.qhi, step = b.step;
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, src, i).mul(inv);
      v = v.blend(0f, v.compare(VectorOperators.NE, v)).max(lo).min(hi);
      FloatVector r = v.add(MAGIC).sub(MAGIC).add(0f);
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }

  private static int halfEvenDiv(float[] src, float[] dst, int from, int to, Bounds b) {
    final float lo = b.lo, hi = b.hi, qlo = b.qlo, qhi = b.qhi, step = b.step;
    int i = from;
    for (; i + L <= to; i += L) {
      FloatVector v = FloatVector.fromArray(F, src, i).div(step);
      v = v.blend(0f, v.compare(VectorOperators.NE, v)).max(lo).min(hi);
      FloatVector r = v.add(MAGIC).sub(MAGIC).add(0f);
      r.max(qlo).min(qhi).mul(step).intoArray(dst, i);
    }
    return i;
  }
}

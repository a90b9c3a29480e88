package io.qspark.kernels.ops;

import static io.qspark.kernels.ops.BatchNormLoops.CHUNK_STEPS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BatchNormLoops}' passes on 256-bit float vectors, lane for lane what its scalar code
 * computes: elementwise steps are the same IEEE operations, and a chunk's lanes go into the
 * double lane totals through an array (never reduceLanes, whose order is not specified). Each
 * chunk's loop is a method of its own with no branch, so C2 keeps the accumulators in
 * registers (a vector reassigned across a branch in the loop was boxed: slower than scalar). Touched only when the jdk.incubator.vector module is present.
 */
final class SimdBatchNormLoops {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
  private static final int L = S.length();

  static {
    if (L != BatchNormLoops.LANES) throw new AssertionError("256-bit species has " + L + " float lanes");
  }

  private SimdBatchNormLoops() {}

  /** Float lane sums of x[from, stop) (stop - from a multiple of L) into tmp: a loop with no branch, so the vector stays in a register. */
  private static void chunkSum(float[] x, int from, int stop, float[] tmp) {
    FloatVector acc = FloatVector.zero(S);
    for (int i = from; i < stop; i += L) acc = acc.add(FloatVector.fromArray(S, x, i));
    acc.intoArray(tmp, 0);
  }

  private static void chunkSquares(float[] x, float center, int from, int stop, float[] tmp) {
    FloatVector acc = FloatVector.zero(S), m = FloatVector.broadcast(S, center);
    for (int i = from; i < stop; i += L) {
      FloatVector e = FloatVector.fromArray(S, x, i).sub(m);
      acc = acc.add(e.mul(e));
    }
    acc.intoArray(tmp, 0);
  }

  static double sum(float[] x, int ci, int n, int c, int inner) {
    float[] tmp = new float[L];
    double[] lanes = new double[L];
    double tail = 0;
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      while (i + L <= end) {
        int stop = Math.min(i + CHUNK_STEPS * L, end - (end - i) % L);
        chunkSum(x, i, stop, tmp);
        BatchNormLoops.addLanes(lanes, tmp, 0);
        i = stop;
      }
      for (; i < end; i++) tail += x[i];
    }
    return BatchNormLoops.total(lanes, tail);
  }

  static double sumSquares(float[] x, float center, int ci, int n, int c, int inner) {
    float[] tmp = new float[L];
    double[] lanes = new double[L];
    double tail = 0;
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      while (i + L <= end) {
        int stop = Math.min(i + CHUNK_STEPS * L, end - (end - i) % L);
        chunkSquares(x, center, i, stop, tmp);
        BatchNormLoops.addLanes(lanes, tmp, 0);
        i = stop;
      }
      for (; i < end; i++) {
        float e = x[i] - center;
        tail += e * e;
      }
    }
    return BatchNormLoops.total(lanes, tail);
  }

  static void divide(float[] z, float d, float[] u, int ci, int n, int c, int inner) {
    FloatVector dv = FloatVector.broadcast(S, d);
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      for (; i + L <= end; i += L) FloatVector.fromArray(S, z, i).div(dv).intoArray(u, i);
      for (; i < end; i++) u[i] = z[i] / d;
    }
  }

  static void affine(float[] y, float mul, float off, Activation act, int ci, int n, int c, int inner) {
    Activation.Kind kind = act == null ? Activation.Kind.IDENTITY : act.kind();
    for (int ni = 0; ni < n; ni++) {
      int base = (ni * c + ci) * inner, end = base + inner;
      int vend = end - inner % L;
      // one branch-free loop per activation: a vector reassigned in a branch is boxed
      if (kind == Activation.Kind.RELU) {
        affineRelu(y, mul, off, base, vend);
      } else if (kind == Activation.Kind.CLIP) {
        affineClip(y, mul, off, act.lo(), act.hi(), base, vend);
      } else {
        affinePlain(y, mul, off, base, vend);
      }
      for (int i = vend; i < end; i++) y[i] = y[i] * mul + off;
      if (act != null) {
        if (kind == Activation.Kind.RELU || kind == Activation.Kind.CLIP) {
          act.apply(y, vend, end);
        } else {
          act.apply(y, base, end);
        }
      }
    }
  }

  private static void affinePlain(float[] y, float mul, float off, int from, int to) {
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    for (int i = from; i < to; i += L) FloatVector.fromArray(S, y, i).mul(mv).add(ov).intoArray(y, i);
  }

  /** Activation's ReLU on the bits: a set sign bit clears the value (-0.0 becomes +0.0). */
  private static void affineRelu(float[] y, float mul, float off, int from, int to) {
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    for (int i = from; i < to; i += L) {
      IntVector b = FloatVector.fromArray(S, y, i).mul(mv).add(ov).reinterpretAsInts();
      b.and(b.lanewise(VectorOperators.ASHR, 31).not()).reinterpretAsFloats().intoArray(y, i);
    }
  }

  private static void affineClip(float[] y, float mul, float off, float lo, float hi, int from, int to) {
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    FloatVector lv = FloatVector.broadcast(S, lo), hv = FloatVector.broadcast(S, hi);
    for (int i = from; i < to; i += L) FloatVector.fromArray(S, y, i).mul(mv).add(ov).max(lv).min(hv).intoArray(y, i);
  }

  /** The first backward pass over one chunk without an activation: g = dy, lane sums of g and g (z / d - mean) into tmp. */
  private static void chunkGradient(float[] z, float d, float[] dy, float mean, float[] g, int from, int stop, float[] tmp) {
    FloatVector a0 = FloatVector.zero(S), a1 = a0;
    FloatVector dv = FloatVector.broadcast(S, d), meanV = FloatVector.broadcast(S, mean);
    for (int i = from; i < stop; i += L) {
      FloatVector u = FloatVector.fromArray(S, z, i).div(dv);
      FloatVector gi = FloatVector.fromArray(S, dy, i);
      gi.intoArray(g, i);
      a0 = a0.add(gi);
      a1 = a1.add(gi.mul(u.sub(meanV)));
    }
    a0.intoArray(tmp, 0);
    a1.intoArray(tmp, L);
  }

  /**
   * The same with dy kept where lo < pre and not pre >= hi (pre = u * mul + off), zero elsewhere:
   * ReLU is (0, NaN) since nothing is >= NaN, Clip its bounds; for any pre this decides as
   * ActivationGrad.fromInput does.
   */
  private static void chunkGradientMasked(float[] z, float d, float[] dy, float mul, float off, float lo, float hi,
      float mean, float[] g, int from, int stop, float[] tmp) {
    FloatVector zero = FloatVector.zero(S), a0 = zero, a1 = zero;
    FloatVector dv = FloatVector.broadcast(S, d), meanV = FloatVector.broadcast(S, mean);
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    FloatVector lv = FloatVector.broadcast(S, lo), hv = FloatVector.broadcast(S, hi);
    for (int i = from; i < stop; i += L) {
      FloatVector u = FloatVector.fromArray(S, z, i).div(dv);
      FloatVector pre = u.mul(mv).add(ov);
      VectorMask<Float> keep = pre.compare(VectorOperators.GT, lv).andNot(pre.compare(VectorOperators.GE, hv));
      FloatVector gi = zero.blend(FloatVector.fromArray(S, dy, i), keep);
      gi.intoArray(g, i);
      a0 = a0.add(gi);
      a1 = a1.add(gi.mul(u.sub(meanV)));
    }
    a0.intoArray(tmp, 0);
    a1.intoArray(tmp, L);
  }

  static double[] gradientSums(float[] z, float d, float[] dy, float mul, float off, Activation act,
      float mean, float[] g, int ci, int n, int c, int inner) {
    Activation.Kind kind = act == null ? Activation.Kind.IDENTITY : act.kind();
    if (kind == Activation.Kind.LEAKY_RELU) {
      // rare after a BatchNorm; the scalar passes give the same bits
      return BatchNormLoops.Scalar.gradientSums(z, d, dy, mul, off, act, mean, g, ci, n, c, inner);
    }
    BatchNormLoops.checkMask(act);
    boolean masked = kind == Activation.Kind.RELU || kind == Activation.Kind.CLIP;
    float lo = kind == Activation.Kind.CLIP ? act.lo() : 0f, hi = kind == Activation.Kind.CLIP ? act.hi() : Float.NaN;
    float[] tmp = new float[2 * L];
    double[] l0 = new double[L], l1 = new double[L];
    double t0 = 0, t1 = 0;
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      while (i + L <= end) {
        int stop = Math.min(i + CHUNK_STEPS * L, end - (end - i) % L);
        if (masked) {
          chunkGradientMasked(z, d, dy, mul, off, lo, hi, mean, g, i, stop, tmp);
        } else {
          chunkGradient(z, d, dy, mean, g, i, stop, tmp);
        }
        BatchNormLoops.addLanes(l0, tmp, 0);
        BatchNormLoops.addLanes(l1, tmp, L);
        i = stop;
      }
      for (; i < end; i++) {
        float u = z[i] / d;
        float gi = BatchNormLoops.Scalar.mask(act, u * mul + off, dy[i]);
        g[i] = gi;
        t0 += gi;
        t1 += gi * (u - mean);
      }
    }
    return new double[] {BatchNormLoops.total(l0, t0), BatchNormLoops.total(l1, t1)};
  }

  static void gradientOutput(float[] g, float[] z, float a, float bz, float k, int ci, int n, int c, int inner) {
    FloatVector av = FloatVector.broadcast(S, a), bv = FloatVector.broadcast(S, bz), kv = FloatVector.broadcast(S, k);
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      for (; i + L <= end; i += L) {
        FloatVector gv = FloatVector.fromArray(S, g, i);
        gv.mul(av).add(FloatVector.fromArray(S, z, i).mul(bv).add(kv)).intoArray(g, i);
      }
      for (; i < end; i++) g[i] = g[i] * a + (z[i] * bz + k);
    }
  }
}

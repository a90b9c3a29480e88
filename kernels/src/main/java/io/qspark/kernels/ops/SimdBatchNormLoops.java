package io.qspark.kernels.ops;

import static io.qspark.kernels.ops.BatchNormLoops.CHUNK_STEPS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BatchNormLoops}' passes on 256-bit float vectors, lane for lane what its scalar code
 * computes: elementwise steps are the same IEEE operations, and a lane's partial sum goes into
 * the double total through an array in lane order (never reduceLanes, whose order is not
 * specified). Touched only when the jdk.incubator.vector module is present.
 */
final class SimdBatchNormLoops {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
  private static final int L = S.length();

  static {
    if (L != BatchNormLoops.LANES) throw new AssertionError("256-bit species has " + L + " float lanes");
  }

  private SimdBatchNormLoops() {}

  private static double flush(double total, FloatVector acc, float[] tmp) {
    acc.intoArray(tmp, 0);
    for (int j = 0; j < L; j++) total += tmp[j];
    return total;
  }

  static double sum(float[] x, int ci, int n, int c, int inner) {
    float[] tmp = new float[L];
    FloatVector zero = FloatVector.zero(S), acc = zero;
    double total = 0;
    int steps = 0;
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      for (; i + L <= end; i += L) {
        acc = acc.add(FloatVector.fromArray(S, x, i));
        if (++steps == CHUNK_STEPS) {
          total = flush(total, acc, tmp);
          acc = zero;
          steps = 0;
        }
      }
      for (; i < end; i++) total += x[i];
    }
    return flush(total, acc, tmp);
  }

  static double sumSquares(float[] x, float center, int ci, int n, int c, int inner) {
    float[] tmp = new float[L];
    FloatVector zero = FloatVector.zero(S), acc = zero, m = FloatVector.broadcast(S, center);
    double total = 0;
    int steps = 0;
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      for (; i + L <= end; i += L) {
        FloatVector e = FloatVector.fromArray(S, x, i).sub(m);
        acc = acc.add(e.mul(e));
        if (++steps == CHUNK_STEPS) {
          total = flush(total, acc, tmp);
          acc = zero;
          steps = 0;
        }
      }
      for (; i < end; i++) {
        float e = x[i] - center;
        total += e * e;
      }
    }
    return flush(total, acc, tmp);
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
    boolean relu = kind == Activation.Kind.RELU, clip = kind == Activation.Kind.CLIP;
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    FloatVector lo = clip ? FloatVector.broadcast(S, act.lo()) : null, hi = clip ? FloatVector.broadcast(S, act.hi()) : null;
    for (int ni = 0; ni < n; ni++) {
      int base = (ni * c + ci) * inner, end = base + inner, i = base;
      for (; i + L <= end; i += L) {
        FloatVector v = FloatVector.fromArray(S, y, i).mul(mv).add(ov);
        if (relu) {
          // Activation's ReLU on the bits: a set sign bit clears the value (-0.0 becomes +0.0)
          IntVector b = v.reinterpretAsInts();
          v = b.and(b.lanewise(VectorOperators.ASHR, 31).not()).reinterpretAsFloats();
        } else if (clip) {
          v = v.max(lo).min(hi);
        }
        v.intoArray(y, i);
      }
      for (; i < end; i++) {
        float v = y[i] * mul + off;
        if (relu) {
          int bits = Float.floatToRawIntBits(v);
          v = Float.intBitsToFloat(bits & ~(bits >> 31));
        } else if (clip) {
          v = Math.min(Math.max(v, act.lo()), act.hi());
        }
        y[i] = v;
      }
      if (act != null && !relu && !clip) act.apply(y, base, end);
    }
  }

  private static FloatVector mask(Activation.Kind kind, FloatVector pre, FloatVector dy, FloatVector zero, FloatVector lo,
      FloatVector hi, FloatVector alpha) {
    switch (kind) {
      case RELU:
        return zero.blend(dy, pre.compare(VectorOperators.GT, zero));
      case CLIP: {
        VectorMask<Float> in = pre.compare(VectorOperators.GT, lo).and(pre.compare(VectorOperators.LT, hi));
        return zero.blend(dy, in);
      }
      case LEAKY_RELU:
        return dy.mul(alpha).blend(dy, pre.compare(VectorOperators.GE, zero));
      default:
        return dy;
    }
  }

  static double[] gradientSums(float[] z, boolean div, float d, float[] dy, float mul, float off, Activation act,
      float mean, float[] g, int ci, int n, int c, int inner) {
    BatchNormLoops.checkMask(act);
    Activation.Kind kind = act == null ? Activation.Kind.IDENTITY : act.kind();
    float[] tmp = new float[L];
    FloatVector zero = FloatVector.zero(S), a0 = zero, a1 = zero;
    FloatVector dv = FloatVector.broadcast(S, d), mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    FloatVector meanV = FloatVector.broadcast(S, mean);
    FloatVector lo = null, hi = null, alpha = null;
    if (kind == Activation.Kind.CLIP) {
      lo = FloatVector.broadcast(S, act.lo());
      hi = FloatVector.broadcast(S, act.hi());
    }
    if (kind == Activation.Kind.LEAKY_RELU) alpha = FloatVector.broadcast(S, act.alpha());
    double t0 = 0, t1 = 0;
    int steps = 0;
    for (int ni = 0; ni < n; ni++) {
      int i = (ni * c + ci) * inner, end = i + inner;
      for (; i + L <= end; i += L) {
        FloatVector u = FloatVector.fromArray(S, z, i);
        if (div) u = u.div(dv);
        FloatVector gi = mask(kind, u.mul(mv).add(ov), FloatVector.fromArray(S, dy, i), zero, lo, hi, alpha);
        gi.intoArray(g, i);
        a0 = a0.add(gi);
        a1 = a1.add(gi.mul(u.sub(meanV)));
        if (++steps == CHUNK_STEPS) {
          t0 = flush(t0, a0, tmp);
          t1 = flush(t1, a1, tmp);
          a0 = zero;
          a1 = zero;
          steps = 0;
        }
      }
      for (; i < end; i++) {
        float u = div ? z[i] / d : z[i];
        float gi = BatchNormLoops.Scalar.mask(act, u * mul + off, dy[i]);
        g[i] = gi;
        t0 += gi;
        t1 += gi * (u - mean);
      }
    }
    return new double[] {flush(t0, a0, tmp), flush(t1, a1, tmp)};
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

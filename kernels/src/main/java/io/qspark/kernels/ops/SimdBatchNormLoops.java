package io.qspark.kernels.ops;

import static io.qspark.kernels.ops.BatchNormLoops.CHUNK_STEPS;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BatchNormLoops}' planes on float vectors ({@link VectorWidth}), lane for lane what its
 * scalar code computes: elementwise steps are the same IEEE operations, and a chunk's lanes go
 * into the double lane totals through an array (never reduceLanes, whose order is not
 * specified). A chunk's {@link BatchNormLoops#LANES} logical lanes take one pass per vector's
 * worth of them (one at 512 bits, two at 256), each pass stepping over the chunk by
 * {@link BatchNormLoops#LANES}, so every width sums the same values in the same order. Each
 * chunk's loop is a method of its own with no branch in it: C2 boxed a vector reassigned across
 * a branch inside the loop, which ran slower than scalar code. Touched only when the
 * jdk.incubator.vector module is present.
 */
final class SimdBatchNormLoops {
  private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
  /** Float lanes per vector. */
  private static final int V = S.length();
  /** Logical lanes of the sums. */
  private static final int L = BatchNormLoops.LANES;

  static {
    if (L % V != 0) throw new AssertionError(V + "-lane vectors do not tile " + L + " sum lanes");
  }

  private SimdBatchNormLoops() {}

  /** Lanes [h, h + V) of a chunk's sum: x[from + h + k L + j] over k, into tmp[h + j]. */
  private static void chunkSum(float[] x, int from, int stop, int h, float[] tmp) {
    FloatVector acc = FloatVector.zero(S);
    for (int i = from + h; i < stop; i += L) acc = acc.add(FloatVector.fromArray(S, x, i));
    acc.intoArray(tmp, h);
  }

  private static void chunkSquares(float[] x, float center, int from, int stop, int h, float[] tmp) {
    FloatVector acc = FloatVector.zero(S), m = FloatVector.broadcast(S, center);
    for (int i = from + h; i < stop; i += L) {
      FloatVector e = FloatVector.fromArray(S, x, i).sub(m);
      acc = acc.add(e.mul(e));
    }
    acc.intoArray(tmp, h);
  }

  static double planeSum(float[] x, boolean squares, float center, int from, int to, double[] lanes, int at, float[] tmp) {
    int i = from;
    while (i + L <= to) {
      int stop = Math.min(i + CHUNK_STEPS * L, to - (to - i) % L);
      for (int h = 0; h < L; h += V) {
        if (squares) {
          chunkSquares(x, center, i, stop, h, tmp);
        } else {
          chunkSum(x, i, stop, h, tmp);
        }
      }
      BatchNormLoops.addLanes(lanes, at, tmp, 0);
      i = stop;
    }
    double tail = 0;
    for (; i < to; i++) {
      if (squares) {
        float e = x[i] - center;
        tail += e * e;
      } else {
        tail += x[i];
      }
    }
    return tail;
  }

  static void divide(float[] z, float d, float[] u, int from, int to) {
    FloatVector dv = FloatVector.broadcast(S, d);
    int vend = to - (to - from) % V;
    for (int i = from; i < vend; i += V) FloatVector.fromArray(S, z, i).div(dv).intoArray(u, i);
    for (int i = vend; i < to; i++) u[i] = z[i] / d;
  }

  static void affine(float[] y, float mul, float off, Activation act, int from, int to) {
    Activation.Kind kind = act == null ? Activation.Kind.IDENTITY : act.kind();
    int vend = to - (to - from) % V;
    // one branch-free loop per activation
    if (kind == Activation.Kind.RELU) {
      affineRelu(y, mul, off, from, vend);
    } else if (kind == Activation.Kind.CLIP) {
      affineClip(y, mul, off, act.lo(), act.hi(), from, vend);
    } else {
      affinePlain(y, mul, off, from, vend);
    }
    for (int i = vend; i < to; i++) y[i] = y[i] * mul + off;
    if (act != null) {
      if (kind == Activation.Kind.RELU || kind == Activation.Kind.CLIP) {
        act.apply(y, vend, to);
      } else {
        act.apply(y, from, to);
      }
    }
  }

  private static void affinePlain(float[] y, float mul, float off, int from, int to) {
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    for (int i = from; i < to; i += V) FloatVector.fromArray(S, y, i).mul(mv).add(ov).intoArray(y, i);
  }

  /** Activation's ReLU on the bits: a set sign bit clears the value (-0.0 becomes +0.0). */
  private static void affineRelu(float[] y, float mul, float off, int from, int to) {
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    for (int i = from; i < to; i += V) {
      IntVector b = FloatVector.fromArray(S, y, i).mul(mv).add(ov).reinterpretAsInts();
      b.and(b.lanewise(VectorOperators.ASHR, 31).not()).reinterpretAsFloats().intoArray(y, i);
    }
  }

  private static void affineClip(float[] y, float mul, float off, float lo, float hi, int from, int to) {
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    FloatVector lv = FloatVector.broadcast(S, lo), hv = FloatVector.broadcast(S, hi);
    for (int i = from; i < to; i += V) FloatVector.fromArray(S, y, i).mul(mv).add(ov).max(lv).min(hv).intoArray(y, i);
  }

  /**
   * The backward's first pass over lanes [h, h + V) of one chunk without an activation: g = dy,
   * lane sums of g and g (z / d - mean) into tmp[h..] and tmp[L + h..].
   */
  private static void chunkGradient(BatchNormLoops.GradientPass p, int ci, int from, int stop, int h) {
    final float[] z = p.z(), dy = p.dy(), g = p.g(), tmp = p.tmp();
    final float d = p.forward().divisor(ci), mean = p.mean()[ci];
    FloatVector a0 = FloatVector.zero(S), a1 = a0;
    FloatVector dv = FloatVector.broadcast(S, d), meanV = FloatVector.broadcast(S, mean);
    for (int i = from + h; i < stop; i += L) {
      FloatVector u = FloatVector.fromArray(S, z, i).div(dv);
      FloatVector gi = FloatVector.fromArray(S, dy, i);
      gi.intoArray(g, i);
      a0 = a0.add(gi);
      a1 = a1.add(gi.mul(u.sub(meanV)));
    }
    a0.intoArray(tmp, h);
    a1.intoArray(tmp, L + h);
  }

  /**
   * The same with dy kept where lo < pre and not pre >= hi (pre = u * mul + off), zero elsewhere:
   * ReLU is (0, NaN) since nothing is >= NaN, Clip its bounds; for any pre this decides as
   * ActivationGrad.fromInput does.
   */
  private static void chunkGradientMasked(BatchNormLoops.GradientPass p, int ci, float lo, float hi, int from, int stop,
      int h) {
    final float[] z = p.z(), dy = p.dy(), g = p.g(), tmp = p.tmp();
    final BatchNormLoops.Forward f = p.forward();
    final float d = f.divisor(ci), mul = f.mul()[ci], off = f.off()[ci], mean = p.mean()[ci];
    FloatVector zero = FloatVector.zero(S), a0 = zero, a1 = zero;
    FloatVector dv = FloatVector.broadcast(S, d), meanV = FloatVector.broadcast(S, mean);
    FloatVector mv = FloatVector.broadcast(S, mul), ov = FloatVector.broadcast(S, off);
    FloatVector lv = FloatVector.broadcast(S, lo), hv = FloatVector.broadcast(S, hi);
    for (int i = from + h; i < stop; i += L) {
      FloatVector u = FloatVector.fromArray(S, z, i).div(dv);
      FloatVector pre = u.mul(mv).add(ov);
      VectorMask<Float> keep = pre.compare(VectorOperators.GT, lv).andNot(pre.compare(VectorOperators.GE, hv));
      FloatVector gi = zero.blend(FloatVector.fromArray(S, dy, i), keep);
      gi.intoArray(g, i);
      a0 = a0.add(gi);
      a1 = a1.add(gi.mul(u.sub(meanV)));
    }
    a0.intoArray(tmp, h);
    a1.intoArray(tmp, L + h);
  }

  /** One plane of the backward's first pass (channel ci, values [from, to); no LeakyRelu); returns its tail sums {g, g (u - mean)}. */
  static double[] planeGradient(BatchNormLoops.GradientPass p, int ci, int from, int to) {
    final float[] z = p.z(), dy = p.dy(), g = p.g(), tmp = p.tmp();
    final double[] l0 = p.l0(), l1 = p.l1();
    final BatchNormLoops.Forward f = p.forward();
    final Activation act = f.act();
    final float d = f.divisor(ci), mul = f.mul()[ci], off = f.off()[ci], mean = p.mean()[ci];
    final int at = ci * L;
    Activation.Kind kind = act == null ? Activation.Kind.IDENTITY : act.kind();
    boolean masked = kind == Activation.Kind.RELU || kind == Activation.Kind.CLIP;
    float lo = kind == Activation.Kind.CLIP ? act.lo() : 0f, hi = kind == Activation.Kind.CLIP ? act.hi() : Float.NaN;
    int i = from;
    while (i + L <= to) {
      int stop = Math.min(i + CHUNK_STEPS * L, to - (to - i) % L);
      for (int h = 0; h < L; h += V) {
        if (masked) {
          chunkGradientMasked(p, ci, lo, hi, i, stop, h);
        } else {
          chunkGradient(p, ci, i, stop, h);
        }
      }
      BatchNormLoops.addLanes(l0, at, tmp, 0);
      BatchNormLoops.addLanes(l1, at, tmp, L);
      i = stop;
    }
    double t0 = 0, t1 = 0;
    for (; i < to; i++) {
      float u = z[i] / d;
      float gi = BatchNormLoops.Scalar.mask(act, u * mul + off, dy[i]);
      g[i] = gi;
      t0 += gi;
      t1 += gi * (u - mean);
    }
    return new double[] {t0, t1};
  }

  static void gradientOutput(float[] g, float[] z, float a, float bz, float k, int from, int to) {
    FloatVector av = FloatVector.broadcast(S, a), bv = FloatVector.broadcast(S, bz), kv = FloatVector.broadcast(S, k);
    int vend = to - (to - from) % V;
    for (int i = from; i < vend; i += V) {
      FloatVector.fromArray(S, g, i).mul(av).add(FloatVector.fromArray(S, z, i).mul(bv).add(kv)).intoArray(g, i);
    }
    for (int i = vend; i < to; i++) g[i] = g[i] * a + (z[i] * bz + k);
  }
}

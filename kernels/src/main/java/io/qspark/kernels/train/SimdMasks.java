package io.qspark.kernels.train;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The backward masks of the straight-through estimator and the activations, a vector of lanes
 * ({@link VectorWidth}) at a time: g[i] is kept where x[i] lies inside the bounds and zeroed elsewhere (a NaN is inside
 * nothing, as in the scalar loops). Each mask has its own loop because C2 compiles a Vector API
 * comparison to one instruction only when its operator is a constant there. Only touched when
 * {@link io.qspark.kernels.simd.VectorApi} says the module is present; the callers finish the
 * tail with their scalar loops.
 */
final class SimdMasks {
  private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
  private static final int L = S.length();

  private SimdMasks() {}

  /** Keeps g where lo <= x <= hi (the straight-through estimator); returns where the scalar loop takes over. */
  static int inside(float[] x, float[] g, int from, int to, float lo, float hi) {
    int i = from;
    FloatVector zero = FloatVector.zero(S);
    for (; i + L <= to; i += L) {
      FloatVector xv = FloatVector.fromArray(S, x, i);
      VectorMask<Float> keep = xv.compare(VectorOperators.GE, lo).and(xv.compare(VectorOperators.LE, hi));
      zero.blend(FloatVector.fromArray(S, g, i), keep).intoArray(g, i);
    }
    return i;
  }

  /** Keeps g where lo < x < hi (Clip's gradient). */
  static int strictlyInside(float[] x, float[] g, int from, int to, float lo, float hi) {
    int i = from;
    FloatVector zero = FloatVector.zero(S);
    for (; i + L <= to; i += L) {
      FloatVector xv = FloatVector.fromArray(S, x, i);
      VectorMask<Float> keep = xv.compare(VectorOperators.GT, lo).and(xv.compare(VectorOperators.LT, hi));
      zero.blend(FloatVector.fromArray(S, g, i), keep).intoArray(g, i);
    }
    return i;
  }

  /** Keeps g where x > 0 (ReLU's gradient). */
  static int positive(float[] x, float[] g, int from, int to) {
    int i = from;
    FloatVector zero = FloatVector.zero(S);
    for (; i + L <= to; i += L) {
      VectorMask<Float> keep = FloatVector.fromArray(S, x, i).compare(VectorOperators.GT, 0f);
      zero.blend(FloatVector.fromArray(S, g, i), keep).intoArray(g, i);
    }
    return i;
  }
}

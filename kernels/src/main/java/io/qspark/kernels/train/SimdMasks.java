package io.qspark.kernels.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The backward masks of the straight-through estimator and the activations, eight lanes at a
 * time: g[i] is kept where x[i] satisfies both bounds and zeroed elsewhere (a NaN satisfies
 * neither, as in the scalar loops). Only touched when {@link io.qspark.kernels.exec.VectorApi}
 * says the module is present; the callers finish the tail with their scalar loops.
 */
final class SimdMasks {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
  private static final int L = S.length();

  private SimdMasks() {}

  /** Keeps g where lo <= x <= hi (the straight-through estimator); returns where the scalar loop takes over. */
  static int inside(float[] x, float[] g, int from, int to, float lo, float hi) {
    return keepWhere(x, g, from, to, VectorOperators.GE, lo, VectorOperators.LE, hi);
  }

  /** Keeps g where lo < x < hi (Clip's gradient). */
  static int strictlyInside(float[] x, float[] g, int from, int to, float lo, float hi) {
    return keepWhere(x, g, from, to, VectorOperators.GT, lo, VectorOperators.LT, hi);
  }

  /** Keeps g where x > 0 (ReLU's gradient; +Inf passes, as in the scalar loop). */
  static int positive(float[] x, float[] g, int from, int to) {
    return keepWhere(x, g, from, to, VectorOperators.GT, 0f, VectorOperators.LE, Float.POSITIVE_INFINITY);
  }

  private static int keepWhere(float[] x, float[] g, int from, int to, VectorOperators.Comparison loOp, float lo,
      VectorOperators.Comparison hiOp, float hi) {
    int i = from;
    FloatVector zero = FloatVector.zero(S);
    for (; i + L <= to; i += L) {
      FloatVector xv = FloatVector.fromArray(S, x, i);
      VectorMask<Float> keep = xv.compare(loOp, lo).and(xv.compare(hiOp, hi));
      zero.blend(FloatVector.fromArray(S, g, i), keep).intoArray(g, i);
    }
    return i;
  }
}

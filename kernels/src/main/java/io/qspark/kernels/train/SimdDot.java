package io.qspark.kernels.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dot product of {@link ShiftedFilterGrad}'s per-channel path on the Vector API. Lanes are
 * summed in index order rather than by reduceLanes, whose order is unspecified (and may differ
 * between the interpreter and compiled code), so every run gives the same bits as the scalar
 * fallback. Only touched when {@link io.qspark.kernels.ops.Conv#SIMD} says the module is present.
 */
final class SimdDot {
  static final int LANES = 8;
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;

  private SimdDot() {}

  /** Four accumulators, lanes summed pairwise across them, then in lane order. */
  static float dot(float[] a, int ao, float[] b, int bo, int len) {
    FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 4 * LANES <= len; i += 4 * LANES) {
      s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
      s1 = FloatVector.fromArray(S, a, ao + i + LANES).fma(FloatVector.fromArray(S, b, bo + i + LANES), s1);
      s2 = FloatVector.fromArray(S, a, ao + i + 2 * LANES).fma(FloatVector.fromArray(S, b, bo + i + 2 * LANES), s2);
      s3 = FloatVector.fromArray(S, a, ao + i + 3 * LANES).fma(FloatVector.fromArray(S, b, bo + i + 3 * LANES), s3);
    }
    for (; i + LANES <= len; i += LANES) {
      s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
    }
    FloatVector v = s0.add(s1).add(s2.add(s3));
    float r = 0f;
    for (int l = 0; l < LANES; l++) r += v.lane(l);
    for (; i < len; i++) r = Math.fma(a[ao + i], b[bo + i], r);
    return r;
  }
}

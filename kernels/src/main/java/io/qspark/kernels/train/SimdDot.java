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

  static float dot(float[] a, int ao, float[] b, int bo, int len) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i + LANES <= len; i += LANES) {
      acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
    }
    float r = 0f;
    for (int l = 0; l < LANES; l++) r += acc.lane(l);
    for (; i < len; i++) r = Math.fma(a[ao + i], b[bo + i], r);
    return r;
  }
}

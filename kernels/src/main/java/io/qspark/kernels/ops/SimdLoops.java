package io.qspark.kernels.ops;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise loops on the Vector API for the ops that run between convs (ReLU, Add), with
 * exactly the scalar loops' results: lanes are independent and each computes what the scalar
 * code computes. Used only when {@link Conv#SIMD} says the module is present.
 */
final class SimdLoops {
  private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
  private static final int L = S.length();

  private SimdLoops() {}

  /**
   * y = relu(x) as {@link Activation}'s scalar loop does it, on the bits: a set sign bit clears
   * the value (so -0.0 becomes +0.0), otherwise it is kept.
   */
  static void relu(float[] x, float[] y, int from, int to) {
    int i = from;
    for (; i + L <= to; i += L) {
      IntVector v = FloatVector.fromArray(S, x, i).reinterpretAsInts();
      v.and(v.lanewise(VectorOperators.ASHR, 31).not()).reinterpretAsFloats().intoArray(y, i);
    }
    for (; i < to; i++) {
      int bits = Float.floatToRawIntBits(x[i]);
      y[i] = Float.intBitsToFloat(bits & ~(bits >> 31));
    }
  }

  /** y = x + z, element by element. */
  static void add(float[] x, float[] z, float[] y) {
    int n = y.length;
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector.fromArray(S, x, i).add(FloatVector.fromArray(S, z, i)).intoArray(y, i);
    }
    for (; i < n; i++) y[i] = x[i] + z[i];
  }
}

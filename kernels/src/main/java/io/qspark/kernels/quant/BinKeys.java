package io.qspark.kernels.quant;

import io.qspark.kernels.simd.VectorApi;

/**
 * The first half of a histogram update, free of branches: every value's bin key (sign bit and
 * the top 15 bits of its magnitude, magnitudes below the smallest kept octave on one key) and
 * the extremes of the values as order-preserving ints (-0.0 below 0.0, NaN beyond the
 * infinities). On the Vector API when present, with the scalar loop as its reference.
 */
final class BinKeys {
  /** Magnitude key of the smallest octave kept, less one: where zeros and tiny values go. */
  static final int ZERO_KEY = ((Histogram.MIN_EXP + 127) << Histogram.SUB_BITS) - 1;

  private BinKeys() {}

  /** keys[j] = key(x[from + j]); range = {min, max} of ordered(x[i]) folded into range's values. */
  static void compute(float[] x, int from, int to, int[] keys, int[] range) {
    if (VectorApi.PRESENT) {
      BinKeysSimd.compute(x, from, to, keys, range);
    } else {
      computeScalar(x, from, to, keys, range);
    }
  }

  static void computeScalar(float[] x, int from, int to, int[] keys, int[] range) {
    int mn = range[0], mx = range[1];
    for (int i = from; i < to; i++) {
      int b = Float.floatToRawIntBits(x[i]);
      int o = ordered(b);
      mn = Math.min(mn, o);
      mx = Math.max(mx, o);
      keys[i - from] = key(b);
    }
    range[0] = mn;
    range[1] = mx;
  }

  static int key(int bits) {
    int k = bits >>> 16;
    return (k & 0x8000) | Math.max(k & 0x7fff, ZERO_KEY);
  }

  /** Float bits to an int whose signed order is the float order (its own inverse). */
  static int ordered(int bits) {
    return bits ^ ((bits >> 31) & 0x7fffffff);
  }
}

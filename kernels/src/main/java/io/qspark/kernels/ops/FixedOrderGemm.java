package io.qspark.kernels.ops;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Gemm's float product as dot products summed in one fixed order, so that a row's result is the
 * same bits on every CPU, at every vector width and whatever rows share the call. OpenBLAS picks
 * its kernel by CPU at load time (Haswell, SkylakeX, Zen, ...), and the kernels sum a dot product
 * in different orders: the same model and images gave a classifier's logits whose last bits, and
 * so quant_info.json's recorded range, differed between an AMD and an Intel machine, and would
 * differ between the executors of a mixed cluster.
 *
 * <p>The order ({@link #dotReference}): {@value #LANES} lanes, lane j summing the products
 * j, j + 16, j + 32, ... in turn, each step one fused multiply-add (Math.fma, which the vector
 * fma equals lane by lane); then the lanes added pairwise, l[j] += l[j + h] for h = 8, 4, 2, 1.
 * A 512-bit vector holds the 16 lanes, two 256-bit vectors hold 8 each: the same sums either way.
 */
final class FixedOrderGemm {
  private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
  private static final int V = S.length();
  static final int LANES = VectorWidth.SUM_LANES;

  private FixedOrderGemm() {}

  /**
   * y[r * n + o] = alpha * (row r of a) . (row o of bt) for r < rows, o < n: a is [rows, k]
   * from aOff, bt is [n, k] (B transposed), both row-major.
   */
  static void rows(float[] a, int aOff, float[] bt, float[] y, int rows, int n, int k, float alpha) {
    float[] lane = new float[LANES];
    for (int r = 0; r < rows; r++) {
      int ar = aOff + r * k;
      for (int o = 0; o < n; o++) {
        if (V == LANES) dot16(a, ar, bt, o * k, k, lane);
        else dot8(a, ar, bt, o * k, k, lane);
        y[r * n + o] = alpha * finish(a, ar, bt, o * k, k, lane);
      }
    }
  }

  /** The lanes of the whole 16-product blocks, one 512-bit vector. */
  private static void dot16(float[] a, int ao, float[] b, int bo, int k, float[] lane) {
    FloatVector acc = FloatVector.zero(S);
    int end = k - k % LANES;
    for (int i = 0; i < end; i += LANES) acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
    acc.intoArray(lane, 0);
  }

  /** The same in two 256-bit vectors: lanes 0-7 and 8-15. */
  private static void dot8(float[] a, int ao, float[] b, int bo, int k, float[] lane) {
    FloatVector lo = FloatVector.zero(S), hi = FloatVector.zero(S);
    int end = k - k % LANES;
    for (int i = 0; i < end; i += LANES) {
      lo = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), lo);
      hi = FloatVector.fromArray(S, a, ao + i + V).fma(FloatVector.fromArray(S, b, bo + i + V), hi);
    }
    lo.intoArray(lane, 0);
    hi.intoArray(lane, V);
  }

  /** The tail's products into their lanes, then the lanes' pairwise sum. */
  private static float finish(float[] a, int ao, float[] b, int bo, int k, float[] lane) {
    int end = k - k % LANES;
    for (int i = end; i < k; i++) lane[i - end] = Math.fma(a[ao + i], b[bo + i], lane[i - end]);
    return reduce(lane);
  }

  private static float reduce(float[] lane) {
    for (int h = LANES / 2; h >= 1; h /= 2) for (int j = 0; j < h; j++) lane[j] += lane[j + h];
    return lane[0];
  }

  /** The order in plain scalar code: what {@link #rows} computes for one dot product. */
  static float dotReference(float[] a, int ao, float[] b, int bo, int k) {
    float[] lane = new float[LANES];
    for (int i = 0; i < k; i++) lane[i % LANES] = Math.fma(a[ao + i], b[bo + i], lane[i % LANES]);
    return reduce(lane);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * Dtype-neutral helpers for ops that only move elements (Concat, Gather, Transpose, Pad, ...).
 * System.arraycopy takes float[] and long[] alike, so these ops are written once for both.
 */
final class Elements {
  private Elements() {}

  /** The tensor's live array: float[] or long[]. */
  static Object array(Tensor t) {
    return t.isFloat() ? t.data() : t.longs();
  }

  /** A new zeroed array of t's dtype. */
  static Object allocate(Tensor t, int n) {
    return t.isFloat() ? Arena.floats(n) : new long[n];
  }

  static Tensor wrap(Object array, int[] shape) {
    return array instanceof float[] ? Tensor.of((float[]) array, shape)
        : Tensor.ofLongs((long[]) array, shape);
  }

  /**
   * y[i] = x[src[i]], or {@code fill} where src[i] is negative: every pure data movement
   * (transposition, padding) reduces to an index map and this one loop per dtype.
   */
  static Tensor gather(Tensor x, int[] src, int[] shape, double fill) {
    int n = src.length;
    if (x.isFloat()) {
      float[] xd = x.data();
      float[] y = Arena.floats(n);
      float f = (float) fill;
      for (int i = 0; i < n; i++) y[i] = src[i] < 0 ? f : xd[src[i]];
      return Tensor.of(y, shape);
    }
    long[] xd = x.longs();
    long[] y = new long[n];
    long f = (long) fill;
    for (int i = 0; i < n; i++) y[i] = src[i] < 0 ? f : xd[src[i]];
    return Tensor.ofLongs(y, shape);
  }

  /** Sorted, normalised, duplicate-free axes, or an OpException naming the op. */
  static int[] axes(long[] axes, int rank, String op) {
    int[] r = new int[axes.length];
    for (int i = 0; i < axes.length; i++) r[i] = Shapes.axis(axes[i], rank, op);
    java.util.Arrays.sort(r);
    for (int i = 1; i < r.length; i++) {
      if (r[i] == r[i - 1]) throw new OpException(op + ": axis " + r[i] + " given twice");
    }
    return r;
  }
}

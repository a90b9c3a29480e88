package io.qspark.kernels.ops;

import java.util.Arrays;

/** Shape arithmetic shared by the ops: numpy broadcasting, strides and axis normalisation. */
public final class Shapes {
  private Shapes() {}

  public static int[] strides(int[] shape) {
    int[] s = new int[shape.length];
    int acc = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      s[i] = acc;
      acc *= shape[i];
    }
    return s;
  }

  public static int size(int[] shape) {
    int n = 1;
    for (int d : shape) n *= d;
    return n;
  }

  /** Multidirectional (numpy) broadcast of two shapes. */
  public static int[] broadcast(int[] a, int[] b) {
    int r = Math.max(a.length, b.length);
    int[] out = new int[r];
    for (int i = 0; i < r; i++) {
      int da = i < r - a.length ? 1 : a[i - (r - a.length)];
      int db = i < r - b.length ? 1 : b[i - (r - b.length)];
      if (da != db && da != 1 && db != 1) {
        throw new OpException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
            + " do not broadcast");
      }
      out[i] = da == 1 ? db : da;
    }
    return out;
  }

  /**
   * Strides for reading a tensor of shape {@code from} broadcast to {@code to}: 0 on the
   * broadcast axes, so one index walk serves both operands.
   */
  public static int[] broadcastStrides(int[] from, int[] to) {
    int[] s = new int[to.length];
    int[] own = strides(from);
    int off = to.length - from.length;
    for (int i = 0; i < from.length; i++) s[i + off] = from[i] == 1 ? 0 : own[i];
    return s;
  }

  public static int axis(long axis, int rank, String op) {
    long a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) {
      throw new OpException(op + ": axis " + axis + " out of range for rank " + rank);
    }
    return (int) a;
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.ops.Shapes;

/** The adjoint of numpy broadcasting: a gradient summed back to the operand's shape. */
final class Broadcasts {
  private Broadcasts() {}

  /** Sums g (shape {@code to}) over the axes along which {@code from} was broadcast. */
  static float[] reduce(float[] g, int[] to, int[] from) {
    if (java.util.Arrays.equals(to, from)) return g.clone();
    int[] st = Shapes.broadcastStrides(from, to);
    float[] r = new float[Shapes.size(from)];
    int rank = to.length;
    int[] idx = new int[rank];
    int src = 0;
    for (int i = 0; i < g.length; i++) {
      r[src] += g[i];
      for (int d = rank - 1; d >= 0; d--) {
        idx[d]++;
        src += st[d];
        if (idx[d] < to[d]) break;
        src -= st[d] * to[d];
        idx[d] = 0;
      }
    }
    return r;
  }

  /** Reads x (shape {@code from}) at every position of {@code to}. */
  static float[] expand(float[] x, int[] from, int[] to) {
    if (java.util.Arrays.equals(to, from)) return x;
    int[] st = Shapes.broadcastStrides(from, to);
    float[] r = new float[Shapes.size(to)];
    int rank = to.length;
    int[] idx = new int[rank];
    int src = 0;
    for (int i = 0; i < r.length; i++) {
      r[i] = x[src];
      for (int d = rank - 1; d >= 0; d--) {
        idx[d]++;
        src += st[d];
        if (idx[d] < to[d]) break;
        src -= st[d] * to[d];
        idx[d] = 0;
      }
    }
    return r;
  }
}

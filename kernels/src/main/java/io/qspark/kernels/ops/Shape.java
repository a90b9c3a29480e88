package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** The input's shape as an int64 vector, optionally the slice [start, end) (opset 15). */
public final class Shape implements Op {
  private final long start;
  private final long end;

  public Shape(Attributes a) {
    this.start = a.getInt("start", 0);
    this.end = a.getInt("end", Long.MAX_VALUE);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    int[] s = in[0].shape();
    int r = s.length;
    // out-of-range bounds are clamped, as in the spec, not rejected
    int from = clamp(start, r);
    int to = Math.max(from, clamp(end, r));
    long[] y = new long[to - from];
    for (int i = from; i < to; i++) y[i - from] = s[i];
    return new Tensor[] {Tensor.ofLongs(y, y.length)};
  }

  private static int clamp(long i, int r) {
    long v = i < 0 ? i + r : i;
    return (int) Math.max(0, Math.min(r, v));
  }
}

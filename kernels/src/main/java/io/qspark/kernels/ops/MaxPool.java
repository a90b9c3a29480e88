package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;

/** 2-D max pooling; padding never wins (it counts as -inf). */
public final class MaxPool extends Pool2d {
  /**
   * @param wantsIndices whether the node asks for the optional Indices output, which is not
   *     implemented: refused here rather than leaving a consumer without its input
   */
  public MaxPool(Attributes a, boolean wantsIndices) {
    super(a, "MaxPool");
    if (wantsIndices) {
      throw new OpException("MaxPool: the optional Indices output is not supported;"
          + " re-export without it (e.g. return_indices=False in PyTorch)");
    }
  }

  @Override
  void plane(float[] xd, int xo, int w, float[] y, int yo, Taps rows, Taps cols, KernelCols kc) {
    int oh = rows.start.length, ow = cols.start.length;
    int sw = geo.sw;
    for (int oy = 0; oy < oh; oy++) {
      int out = yo + oy * ow;
      java.util.Arrays.fill(y, out, out + ow, Float.NEGATIVE_INFINITY);
      for (int ky = rows.lo[oy]; ky < rows.hi[oy]; ky++) {
        int r = xo + (rows.start[oy] + ky * geo.dh) * w;
        for (int kx = 0; kx < geo.kw; kx++) {
          int src = r + kc.off[kx];
          for (int ox = kc.lo[kx]; ox < kc.hi[kx]; ox++) {
            y[out + ox] = Math.max(y[out + ox], xd[src + ox * sw]);
          }
        }
      }
    }
  }
}

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
  void plane(float[] xd, int xo, int h, int w, float[] y, int yo, int oh, int ow, int[] pads) {
    for (int oy = 0; oy < oh; oy++) {
      int y0 = oy * geo.sh - pads[0];
      int kyLo = firstTap(y0, geo.dh), kyHi = endTap(y0, geo.kh, geo.dh, h);
      for (int ox = 0; ox < ow; ox++) {
        int x0 = ox * geo.sw - pads[1];
        int kxLo = firstTap(x0, geo.dw), kxHi = endTap(x0, geo.kw, geo.dw, w);
        float m = Float.NEGATIVE_INFINITY;
        for (int ky = kyLo; ky < kyHi; ky++) {
          int row = xo + (y0 + ky * geo.dh) * w + x0;
          for (int kx = kxLo; kx < kxHi; kx++) m = Math.max(m, xd[row + kx * geo.dw]);
        }
        y[yo + oy * ow + ox] = m;
      }
    }
  }
}

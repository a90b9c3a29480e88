package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;

/**
 * 2-D average pooling. The divisor counts the taps inside the image, or with count_include_pad
 * also those in the explicit pads, but never those a ceil_mode window hangs past the pads (as
 * ONNX's reference and PyTorch).
 */
public final class AveragePool extends Pool2d {
  private final boolean countIncludePad;

  public AveragePool(Attributes a) {
    super(a, "AveragePool");
    this.countIncludePad = a.getInt("count_include_pad", 0) != 0;
  }

  @Override
  void plane(float[] xd, int xo, int h, int w, float[] y, int yo, int oh, int ow, int[] pads) {
    for (int oy = 0; oy < oh; oy++) {
      int y0 = oy * geo.sh - pads[0];
      int kyLo = firstTap(y0, geo.dh), kyHi = endTap(y0, geo.kh, geo.dh, h);
      int rows = countIncludePad
          ? endTap(y0 + pads[0], geo.kh, geo.dh, h + pads[0] + pads[2]) - firstTap(y0 + pads[0], geo.dh)
          : kyHi - kyLo;
      for (int ox = 0; ox < ow; ox++) {
        int x0 = ox * geo.sw - pads[1];
        int kxLo = firstTap(x0, geo.dw), kxHi = endTap(x0, geo.kw, geo.dw, w);
        int cols = countIncludePad
            ? endTap(x0 + pads[1], geo.kw, geo.dw, w + pads[1] + pads[3]) - firstTap(x0 + pads[1], geo.dw)
            : kxHi - kxLo;
        float s = 0f;
        for (int ky = kyLo; ky < kyHi; ky++) {
          int row = xo + (y0 + ky * geo.dh) * w + x0;
          for (int kx = kxLo; kx < kxHi; kx++) s += xd[row + kx * geo.dw];
        }
        y[yo + oy * ow + ox] = s / (rows * cols);
      }
    }
  }

  @Override
  public String describe() {
    return super.describe() + (countIncludePad ? " incl-pad" : "");
  }
}

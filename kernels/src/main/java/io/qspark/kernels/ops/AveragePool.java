package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;

/**
 * 2-D average pooling. The divisor counts the taps inside the image, or with count_include_pad
 * also those in the explicit pads, but never those a ceil_mode window hangs past the pads (as
 * PyTorch, which trained the models; onnxruntime before opset 19 divides those by the kernel
 * size).
 */
public final class AveragePool extends Pool2d {
  private final boolean countIncludePad;
  /** The DPU's divisor (fake-quant): sum * multiplier * 2^-shift whatever the window covers. */
  private final DpuAveragePool dpu;

  public AveragePool(Attributes a) {
    super(a, "AveragePool");
    this.countIncludePad = a.getInt("count_include_pad", 0) != 0;
    this.dpu = a.has(DpuAveragePool.MULTIPLIER)
        ? new DpuAveragePool((int) a.getInt(DpuAveragePool.MULTIPLIER, 1), (int) a.getInt(DpuAveragePool.SHIFT, 0)) : null;
  }

  @Override
  void plane(float[] xd, int xo, int w, float[] y, int yo, Taps rows, Taps cols, KernelCols kc) {
    int oh = rows.start.length, ow = cols.start.length;
    int sw = geo.sw;
    for (int oy = 0; oy < oh; oy++) {
      int out = yo + oy * ow;
      for (int ky = rows.lo[oy]; ky < rows.hi[oy]; ky++) {
        int r = xo + (rows.start[oy] + ky * geo.dh) * w;
        for (int kx = 0; kx < geo.kw; kx++) {
          int src = r + kc.off[kx];
          for (int ox = kc.lo[kx]; ox < kc.hi[kx]; ox++) y[out + ox] += xd[src + ox * sw];
        }
      }
      if (dpu != null) {
        for (int ox = 0; ox < ow; ox++) y[out + ox] = (float) dpu.apply(y[out + ox]);
        continue;
      }
      int rowCount = countIncludePad ? rows.padded[oy] : rows.hi[oy] - rows.lo[oy];
      for (int ox = 0; ox < ow; ox++) {
        int cc = countIncludePad ? cols.padded[ox] : cols.hi[ox] - cols.lo[ox];
        y[out + ox] /= rowCount * cc;
      }
    }
  }

  @Override
  public String describe() {
    return super.describe() + (countIncludePad ? " incl-pad" : "");
  }
}

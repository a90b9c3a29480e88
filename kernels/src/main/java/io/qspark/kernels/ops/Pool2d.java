package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Shared frame of 2-D pooling over NCHW: window geometry (pads, auto_pad, ceil_mode,
 * dilations) from {@link ConvGeometry}; subclasses reduce one plane at a time.
 */
abstract class Pool2d implements Op {
  protected final ConvGeometry geo;
  private final String op;

  Pool2d(Attributes a, String op) {
    this.op = op;
    long[] k = a.getInts("kernel_shape", null);
    if (k == null) throw new OpException(op + ": the kernel_shape attribute is required");
    if (k.length != 2) {
      throw new OpException(op + ": only 2-D pooling is supported, kernel_shape has " + k.length + " values");
    }
    this.geo = new ConvGeometry(a, (int) k[0], (int) k[1], op);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    if (x.rank() != 4) {
      throw new OpException(op + ": only 2-D pooling (4-D NCHW input) is supported, got " + x);
    }
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    int[] pads = geo.pads(h, w);
    int[] o = geo.out(h, w);
    int oh = o[0], ow = o[1];
    float[] xd = x.data();
    float[] y = new float[n * c * oh * ow];
    for (int p = 0; p < n * c; p++) plane(xd, p * h * w, h, w, y, p * oh * ow, oh, ow, pads);
    return new Tensor[] {Tensor.of(y, n, c, oh, ow)};
  }

  /** Pools one h x w plane at xd[xo..] into oh x ow at y[yo..]. */
  abstract void plane(float[] xd, int xo, int h, int w, float[] y, int yo, int oh, int ow, int[] pads);

  /** First window tap index >= 0 (taps at start + t * dilation). */
  static int firstTap(int start, int dilation) {
    return start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  }

  /** One past the last window tap index < size. */
  static int endTap(int start, int k, int dilation, int size) {
    return start >= size ? 0 : Math.min(k, (size - 1 - start) / dilation + 1);
  }

  @Override
  public long macs(int[][] in, int[][] out) {
    return (long) Shapes.size(out[0]) * geo.kh * geo.kw;
  }

  @Override
  public String describe() {
    return geo.describe();
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * Shared frame of 2-D pooling over NCHW: window geometry (pads, auto_pad, ceil_mode,
 * dilations) from {@link ConvGeometry}, resolved once per call into per-row and per-column
 * tap ranges; subclasses reduce one plane at a time with them.
 */
abstract class Pool2d implements Op {
  protected final ConvGeometry geo;
  private final String op;

  /**
   * For each output row (or column): the window's first input position, the range [lo, hi) of
   * taps inside the input, and how many taps lie inside input + pads (AveragePool's
   * count_include_pad divisor, which excludes a ceil_mode window's overhang past the pads).
   */
  static final class Taps {
    final int[] start;
    final int[] lo;
    final int[] hi;
    final int[] padded;

    Taps(int out, int stride, int dilation, int k, int padBegin, int padEnd, int size) {
      start = new int[out];
      lo = new int[out];
      hi = new int[out];
      padded = new int[out];
      for (int o = 0; o < out; o++) {
        int s = o * stride - padBegin;
        start[o] = s;
        lo[o] = first(s, dilation);
        hi[o] = end(s, k, dilation, size);
        padded[o] = end(s + padBegin, k, dilation, size + padBegin + padEnd) - first(s + padBegin, dilation);
      }
    }

    /** First tap index t with start + t * dilation >= 0. */
    private static int first(int start, int dilation) {
      return start >= 0 ? 0 : (-start + dilation - 1) / dilation;
    }

    /** One past the last tap index t with start + t * dilation < size. */
    private static int end(int start, int k, int dilation, int size) {
      return start >= size ? 0 : Math.min(k, (size - 1 - start) / dilation + 1);
    }
  }

  /**
   * For each kernel column kx: the output columns [lo, hi) whose tap kx lies inside the input,
   * and the input column of output column 0's tap (off; input column = ox * stride + off).
   * With these the plane loops run over output columns innermost, branch-free.
   */
  static final class KernelCols {
    final int[] lo;
    final int[] hi;
    final int[] off;

    KernelCols(int k, int stride, int dilation, int padBegin, int size, int out) {
      lo = new int[k];
      hi = new int[k];
      off = new int[k];
      for (int kx = 0; kx < k; kx++) {
        int o = kx * dilation - padBegin;
        off[kx] = o;
        lo[kx] = Math.min(out, o >= 0 ? 0 : (-o + stride - 1) / stride);
        hi[kx] = Math.max(lo[kx], Math.min(out, o >= size ? 0 : (size - 1 - o) / stride + 1));
      }
    }
  }

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
    Taps rows = new Taps(oh, geo.sh, geo.dh, geo.kh, pads[0], pads[2], h);
    Taps cols = new Taps(ow, geo.sw, geo.dw, geo.kw, pads[1], pads[3], w);
    KernelCols kc = new KernelCols(geo.kw, geo.sw, geo.dw, pads[1], w, ow);
    float[] xd = x.data();
    float[] y = Arena.floats(n * c * oh * ow);
    for (int p = 0; p < n * c; p++) plane(xd, p * h * w, w, y, p * oh * ow, rows, cols, kc);
    return new Tensor[] {Tensor.of(y, n, c, oh, ow)};
  }

  /** Pools the plane of width w at xd[xo..] into y[yo..], rows.start.length x cols.start.length. */
  abstract void plane(float[] xd, int xo, int w, float[] y, int yo, Taps rows, Taps cols, KernelCols kc);

  @Override
  public long macs(int[][] in, int[][] out) {
    return (long) Shapes.size(out[0]) * geo.kh * geo.kw;
  }

  @Override
  public String describe() {
    return geo.describe();
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of 2-D pooling over NCHW. MaxPool routes each output's gradient to the first
 * maximum of its window (in the forward scan order); AveragePool spreads it evenly over the
 * taps its divisor counted (inside the image, or also the explicit pads with
 * count_include_pad, never a ceil_mode window's overhang); GlobalAveragePool over the plane.
 */
public final class PoolGrad implements OpGrad {
  public enum Kind { MAX, AVERAGE, GLOBAL_AVERAGE }

  private final Kind kind;
  private final ConvGeometry geo;
  private final boolean countIncludePad;

  public PoolGrad(Kind kind, Attributes a) {
    this.kind = kind;
    if (kind == Kind.GLOBAL_AVERAGE) {
      geo = null;
      countIncludePad = false;
    } else {
      long[] k = a.getInts("kernel_shape", null);
      geo = new ConvGeometry(a, (int) k[0], (int) k[1], kind == Kind.MAX ? "MaxPool" : "AveragePool");
      countIncludePad = a.getInt("count_include_pad", 0) != 0;
    }
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor x = in[0];
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    float[] dy = dyT.data();
    float[] dx = new float[x.size()];
    if (kind == Kind.GLOBAL_AVERAGE) {
      int hw = h * w;
      for (int p = 0; p < n * c; p++) {
        float g = dy[p] / hw;
        for (int i = p * hw; i < (p + 1) * hw; i++) dx[i] = g;
      }
      return new Tensor[] {Tensor.of(dx, x.shape())};
    }
    int[] pads = geo.pads(h, w);
    int oh = out.dim(2), ow = out.dim(3);
    float[] xd = x.data();
    for (int p = 0; p < n * c; p++) {
      int xo = p * h * w, yo = p * oh * ow;
      for (int oy = 0; oy < oh; oy++) {
        int r0 = oy * geo.sh - pads[0];
        for (int ox = 0; ox < ow; ox++) {
          int c0 = ox * geo.sw - pads[1];
          float g = dy[yo + oy * ow + ox];
          if (kind == Kind.MAX) {
            int best = -1;
            float bv = Float.NEGATIVE_INFINITY;
            for (int ky = 0; ky < geo.kh; ky++) {
              int r = r0 + ky * geo.dh;
              if (r < 0 || r >= h) continue;
              for (int kx = 0; kx < geo.kw; kx++) {
                int cc = c0 + kx * geo.dw;
                if (cc < 0 || cc >= w) continue;
                float v = xd[xo + r * w + cc];
                if (best < 0 || v > bv) {
                  best = xo + r * w + cc;
                  bv = v;
                }
              }
            }
            if (best >= 0) dx[best] += g;
          } else {
            int rows = count(r0, geo.kh, geo.dh, h, pads[0], pads[2]);
            int cols = count(c0, geo.kw, geo.dw, w, pads[1], pads[3]);
            float share = g / (rows * cols);
            for (int ky = 0; ky < geo.kh; ky++) {
              int r = r0 + ky * geo.dh;
              if (r < 0 || r >= h) continue;
              for (int kx = 0; kx < geo.kw; kx++) {
                int cc = c0 + kx * geo.dw;
                if (cc >= 0 && cc < w) dx[xo + r * w + cc] += share;
              }
            }
          }
        }
      }
    }
    return new Tensor[] {Tensor.of(dx, x.shape())};
  }

  /** Taps of a window starting at s that the divisor counts. */
  private int count(int s, int k, int d, int size, int padBegin, int padEnd) {
    int lo = countIncludePad ? -padBegin : 0, hi = countIncludePad ? size + padEnd : size;
    int n = 0;
    for (int t = 0; t < k; t++) {
      int r = s + t * d;
      if (r >= lo && r < hi) n++;
    }
    return n;
  }
}

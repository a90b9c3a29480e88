package io.qspark.kernels.train;

import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import java.util.Arrays;

/**
 * Backward of a depthwise conv (one input and one output channel per group) by direct loops over
 * taps and output rows: a depthwise layer has nine MACs per output pixel, too few to amortize an
 * im2col GEMM per channel or a conv call per channel and phase (measured on mbv2_s's strided
 * 144-channel 3x3: the im2col and polyphase backwards at 4.6-4.7x the forward). dW[c][t] sums over
 * images, rows and columns in that order; dX adds tap by tap, so every bit is a fixed function of
 * the layer's shape.
 */
final class DepthwiseConvGrad {
  private DepthwiseConvGrad() {}

  /**
   * dW (into dw, [c][kh][kw]) and, if dx is not null, dX (added into dx, [n][c][h][w]) from x
   * [n][c][h][w], the weight and dy [n][c][oh][ow] (the shapes of s).
   */
  static void backward(float[] x, float[] w, float[] dy, ConvShape s, float[] dw, float[] dx) {
    final int n = s.batch(), c = s.channels(), h = s.height(), wd = s.width(), oh = s.outHeight(), ow = s.outWidth();
    final ConvGeometry geo = s.geometry();
    final int[] pads = s.pads();
    int kh = geo.kh, kw = geo.kw, sh = geo.sh, sw = geo.sw, taps = kh * kw;
    // per tap: where its row starts relative to the input row and the output columns whose read
    // falls inside the row
    int[] xoff = new int[kw], oxLo = new int[kw], oxHi = new int[kw];
    for (int kj = 0; kj < kw; kj++) {
      xoff[kj] = kj * geo.dw - pads[1];
      oxLo[kj] = xoff[kj] >= 0 ? 0 : (-xoff[kj] + sw - 1) / sw;
      oxHi[kj] = Math.min(ow, xoff[kj] >= wd ? 0 : (wd - 1 - xoff[kj]) / sw + 1);
    }
    float[] acc = new float[kw];
    for (int ch = 0; ch < c; ch++) {
      for (int ki = 0; ki < kh; ki++) {
        // a row's taps side by side: kw independent sums (one would wait on the adder's latency
        // at every element), each still over images, rows and columns in order
        Arrays.fill(acc, 0f);
        int t0 = ch * taps + ki * kw;
        for (int i = 0; i < n; i++) {
          int xb = (i * c + ch) * h * wd, yb = (i * c + ch) * oh * ow;
          for (int oy = 0; oy < oh; oy++) {
            int iy = oy * sh - pads[0] + ki * geo.dh;
            if (iy < 0 || iy >= h) continue;
            int yr = yb + oy * ow;
            for (int kj = 0; kj < kw; kj++) {
              int xr = xb + iy * wd + xoff[kj], lo = oxLo[kj], hi = oxHi[kj];
              float a = acc[kj];
              for (int ox = lo; ox < hi; ox++) a = Math.fma(dy[yr + ox], x[xr + ox * sw], a);
              acc[kj] = a;
              if (dx == null) continue;
              float wv = w[t0 + kj];
              for (int ox = lo; ox < hi; ox++) dx[xr + ox * sw] = Math.fma(wv, dy[yr + ox], dx[xr + ox * sw]);
            }
          }
        }
        for (int kj = 0; kj < kw; kj++) dw[t0 + kj] = acc[kj];
      }
    }
  }
}

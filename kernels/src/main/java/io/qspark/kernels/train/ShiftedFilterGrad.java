package io.qspark.kernels.train;

import io.qspark.kernels.ops.Conv;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Weight gradient (backward-filter) of a stride-1 conv without an im2col matrix. Each image's
 * input plane is laid out zero-padded (Hp x Wp, flattened) and its output gradient with the
 * same row pitch Wp and zeros in columns ow..Wp-1; then for tap (ki, kj) with offset
 * o = ki dh Wp + kj dw, dW[co][ci][ki][kj] = sum_j dY[co][j] X[ci][j + o]: the same plane read
 * at another offset, and the positions where j + o wraps into the next row meet dY's zero
 * columns. Dense and grouped convs run one cblas_sgemm per group and tap over a block of images
 * side by side; convs with a single (or a handful of) input-output channel pair per group, such
 * as depthwise, run a dot product per pair and tap instead, since a GEMM with M = N = 1 is all
 * call overhead. The im2col GEMM in {@link ConvGrad} stays the reference and the path of
 * strided convs.
 */
final class ShiftedFilterGrad {
  /** At most this many channel pairs per group go to the dot products rather than the GEMMs. */
  static final int DOT_PAIRS = 4;
  private static final float[] ZEROS = new float[4096];

  private final int n, c, h, wd, m, g, cg, mg, kh, kw, taps, oh, ow;
  private final int top, left, hp, wp, plane;
  private final int[] offsets;

  /** pads {top, left, bottom, right}; the conv must have stride 1 (oh = Hp - dh (kh - 1), likewise ow). */
  ShiftedFilterGrad(int n, int c, int h, int wd, int m, int g, int kh, int kw, int dh, int dw, int[] pads, int oh, int ow) {
    this.n = n;
    this.c = c;
    this.h = h;
    this.wd = wd;
    this.m = m;
    this.g = g;
    this.cg = c / g;
    this.mg = m / g;
    this.kh = kh;
    this.kw = kw;
    this.taps = kh * kw;
    this.oh = oh;
    this.ow = ow;
    this.top = pads[0];
    this.left = pads[1];
    this.hp = h + pads[0] + pads[2];
    this.wp = wd + pads[1] + pads[3];
    this.plane = hp * wp;
    this.offsets = new int[taps];
    for (int ki = 0; ki < kh; ki++) {
      for (int kj = 0; kj < kw; kj++) offsets[ki * kw + kj] = ki * dh * wp + kj * dw;
    }
  }

  /** dW in the weight's layout [m][cg][kh][kw], from x [n][c][h][wd] and dy [n][m][oh][ow]. */
  float[] weightGradient(float[] x, float[] dy) {
    return mg * cg <= DOT_PAIRS ? byDots(x, dy) : byTapGemms(x, dy);
  }

  /**
   * Images per GEMM block: a fixed function of the layer's shape (never of threads or
   * partitions), so the summation order, and every bit of the result, is the same in any run.
   */
  int imagesPerBlock() {
    return Math.max(1, Math.min(n, ConvGrad.BLOCK / (Math.max(c, m) * plane)));
  }

  private float[] byTapGemms(float[] x, float[] dy) {
    int imgs = imagesPerBlock(), tail = offsets[taps - 1];
    Scratch s = Scratch.get();
    int outLen = g * taps * mg * cg;
    FloatPointer outP = s.pointer(1, outLen);
    zero(s.buffer(1, outLen), 0, outLen);
    for (int i0 = 0; i0 < n; i0 += imgs) {
      int nb = Math.min(imgs, n - i0), ldy = nb * plane, ldx = ldy + tail;
      FloatPointer xP = s.pointer(2, (long) c * ldx);
      FloatBuffer xB = s.buffer(2, (long) c * ldx);
      FloatPointer yP = s.pointer(4, (long) m * ldy);
      FloatBuffer yB = s.buffer(4, (long) m * ldy);
      for (int ci = 0; ci < c; ci++) {
        for (int b = 0; b < nb; b++) {
          place(xB, ci * ldx + b * plane, x, ((i0 + b) * c + ci) * h * wd, h, wd, top, left);
        }
        // every position a shifted read can reach must hold a finite value: 0 * NaN is NaN
        zero(xB, ci * ldx + ldy, tail);
      }
      for (int co = 0; co < m; co++) {
        for (int b = 0; b < nb; b++) {
          place(yB, co * ldy + b * plane, dy, ((i0 + b) * m + co) * oh * ow, oh, ow, 0, 0);
        }
      }
      for (int gi = 0; gi < g; gi++) {
        for (int t = 0; t < taps; t++) {
          Scratch.sgemm(false, true, mg, cg, ldy, yP, (long) gi * mg * ldy, ldy,
              xP, (long) gi * cg * ldx + offsets[t], ldx, 1f, outP, (long) (gi * taps + t) * mg * cg, cg);
        }
      }
    }
    float[] byTap = new float[outLen];
    s.buffer(1, outLen).get(0, byTap, 0, outLen);
    float[] dw = new float[outLen];
    for (int gi = 0; gi < g; gi++) {
      for (int t = 0; t < taps; t++) {
        for (int co = 0; co < mg; co++) {
          int src = ((gi * taps + t) * mg + co) * cg, dst = (gi * mg + co) * cg * taps + t;
          for (int ci = 0; ci < cg; ci++) dw[dst + ci * taps] = byTap[src + ci];
        }
      }
    }
    return dw;
  }

  private float[] byDots(float[] x, float[] dy) {
    // a dot runs over the output gradient up to its last value, and reaches at most the input
    // plane's last position: (oh - 1) Wp + ow - 1 + offsets[taps - 1] = Hp Wp - 1
    int len = (oh - 1) * wp + ow;
    float[] xa = new float[cg * plane], ya = new float[mg * plane];
    float[] dw = new float[m * cg * taps];
    boolean simd = Conv.SIMD;
    for (int i = 0; i < n; i++) {
      for (int gi = 0; gi < g; gi++) {
        for (int ci = 0; ci < cg; ci++) place(xa, ci * plane, x, (i * c + gi * cg + ci) * h * wd, h, wd, top, left);
        for (int co = 0; co < mg; co++) place(ya, co * plane, dy, (i * m + gi * mg + co) * oh * ow, oh, ow, 0, 0);
        for (int co = 0; co < mg; co++) {
          for (int ci = 0; ci < cg; ci++) {
            int d = ((gi * mg + co) * cg + ci) * taps;
            for (int t = 0; t < taps; t++) {
              int xo = ci * plane + offsets[t], yo = co * plane;
              dw[d + t] += simd ? SimdDot.dot(ya, yo, xa, xo, len) : dot(ya, yo, xa, xo, len);
            }
          }
        }
      }
    }
    return dw;
  }

  /** The scalar fallback of {@link SimdDot#dot}, with its summation order (8 lanes, lanes summed in order). */
  static float dot(float[] a, int ao, float[] b, int bo, int len) {
    float[] acc = new float[SimdDot.LANES];
    int i = 0;
    for (; i + SimdDot.LANES <= len; i += SimdDot.LANES) {
      for (int l = 0; l < SimdDot.LANES; l++) acc[l] = Math.fma(a[ao + i + l], b[bo + i + l], acc[l]);
    }
    float r = 0f;
    for (float v : acc) r += v;
    for (; i < len; i++) r = Math.fma(a[ao + i], b[bo + i], r);
    return r;
  }

  /** Writes a rows x cols block at (top, left) of a Wp-wide plane starting at base, zeros around it. */
  private void place(FloatBuffer dst, int base, float[] src, int srcOff, int rows, int cols, int top, int left) {
    int pos = 0;
    for (int y = 0; y < rows; y++) {
      int start = (y + top) * wp + left;
      zero(dst, base + pos, start - pos);
      dst.put(base + start, src, srcOff + y * cols, cols);
      pos = start + cols;
    }
    zero(dst, base + pos, plane - pos);
  }

  private void place(float[] dst, int base, float[] src, int srcOff, int rows, int cols, int top, int left) {
    int pos = 0;
    for (int y = 0; y < rows; y++) {
      int start = (y + top) * wp + left;
      Arrays.fill(dst, base + pos, base + start, 0f);
      System.arraycopy(src, srcOff + y * cols, dst, base + start, cols);
      pos = start + cols;
    }
    Arrays.fill(dst, base + pos, base + plane, 0f);
  }

  private static void zero(FloatBuffer dst, int off, int len) {
    while (len > 0) {
      int k = Math.min(len, ZEROS.length);
      dst.put(off, ZEROS, 0, k);
      off += k;
      len -= k;
    }
  }
}

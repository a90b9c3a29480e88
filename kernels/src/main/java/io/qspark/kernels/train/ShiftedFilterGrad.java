package io.qspark.kernels.train;

import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Weight gradient (backward-filter) of a stride-1 conv without an im2col matrix. A block of
 * images is laid out channel by channel, each image's input as its zero-padded plane with row
 * pitch Wp, and its output gradient with the same pitch and zeros in columns ow..Wp-1 and in the
 * rows after oh; then for tap (ki, kj) with offset o = ki dh Wp + kj dw,
 * dW[co][ci][ki][kj] = sum_j dY[co][j] X[ci][j + o]: the same rows read at another offset, and
 * every read meant for a pad that wraps into the next row or image meets a zero there.
 * Consecutive rows (and images) share their pads (Wp = w + max(left, right), likewise the rows
 * per image), which keeps the zeros the kernels run over few. Convs with few channel pairs per
 * group (depthwise, small dense and pointwise ones) run {@link SimdFilterGrad}'s register-blocked
 * kernel on a heap copy of the layout, in blocks of images that fit in L2; wide convs one
 * cblas_sgemm per group and tap on an off-heap copy (see {@link #path}). The im2col GEMM in
 * {@link ConvGrad} stays the reference, and the path of dense strided convs' weight gradient
 * (on their small outputs it ties or beats this class run per stride phase).
 */
final class ShiftedFilterGrad {
  private static final float[] ZEROS = new float[4096];
  /**
   * Logical lanes of the SIMD kernel's partial sums, the same at every vector width
   * ({@link io.qspark.kernels.simd.VectorWidth#SUM_LANES}); rows are padded to a multiple of it.
   */
  static final int LANES = 16;
  /** Channel pairs per group up to which the SIMD kernel beats the GEMMs on kxk convs (64 x 64: 1.3x). */
  static final int SIMD_PAIRS = 64 * 64;
  /** The same for pointwise convs, whose GEMMs are longer (192 x 64: a tie, 64 x 384: GEMMs 1.3x). */
  static final int SIMD_PAIRS_POINTWISE = 8192;

  /** Floats per 64-byte cache line. */
  private static final int LINE = 16;
  /**
   * Where dY starts in the heap layout. The layout lives in the thread's scratch array, which the
   * im2col paths grow to megabytes: a humongous object under G1, starting on a region boundary,
   * so element 0 lies 16 bytes (the array header) past it and element 12 on a cache line; dY's
   * loads then never straddle two lines (in such an array, 8-11% faster than at element 0 or 8).
   * With another placement only that speed changes.
   */
  private static final int HEAD = 12;
  /** Floats of dY and X rows per heap block (256 KB). */
  static final int HEAP_BLOCK = 1 << 16;
  private final int n, c, h, wd, m, g, cg, mg, taps, oh, ow;
  private final int top, left, rows, wp, image, tail;
  private final int[] offsets;

  /** The conv must have stride 1 (oh = h + top + bottom - dh (kh - 1), likewise ow). */
  ShiftedFilterGrad(ConvShape s) {
    final ConvGeometry geo = s.geometry();
    if (geo.sh != 1 || geo.sw != 1) throw new IllegalArgumentException("shifted filter gradient of a strided conv: " + s);
    final int kh = geo.kh, kw = geo.kw, dh = geo.dh, dw = geo.dw;
    final int[] pads = s.pads();
    this.n = s.batch();
    this.c = s.channels();
    this.h = s.height();
    this.wd = s.width();
    this.m = s.outChannels();
    this.g = s.groups();
    this.cg = s.groupChannels();
    this.mg = s.groupOutChannels();
    this.taps = kh * kw;
    this.oh = s.outHeight();
    this.ow = s.outWidth();
    this.top = pads[0];
    this.left = pads[1];
    // a read past a row's right pad lands in the next row's left pad, one past the bottom pad in
    // the next image's top pad: shared pads must be as wide as the wider of the two
    this.wp = Math.max(wd + Math.max(pads[1], pads[3]), ow);
    this.rows = Math.max(h + Math.max(pads[0], pads[2]), oh);
    this.image = rows * wp;
    this.offsets = new int[taps];
    for (int ki = 0; ki < kh; ki++) {
      for (int kj = 0; kj < kw; kj++) offsets[ki * kw + kj] = ki * dh * wp + kj * dw;
    }
    this.tail = offsets[taps - 1];
  }

  /** dW in the weight's layout [m][cg][kh][kw], from x [n][c][h][wd] and dy [n][m][oh][ow]. */
  float[] weightGradient(float[] x, float[] dy) {
    return weightGradient(x, dy, path());
  }

  enum Path { TAP_GEMMS, DOTS, SIMD }

  /**
   * As measured by ConvGradBench: convs with few channel pairs (depthwise, the small dense
   * ones, pointwise ones up to 8 K pairs) by the SIMD kernel, 1.1-10x faster than the GEMMs;
   * convs with many channel pairs by GEMMs (compute-bound, where OpenBLAS's kernels beat ours).
   * Without the Vector API, a single input or output channel per group (a GEMV) by scalar dots.
   */
  Path path() {
    if (Conv.SIMD && mg * cg <= (taps > 1 ? SIMD_PAIRS : SIMD_PAIRS_POINTWISE)) return Path.SIMD;
    return Math.min(mg, cg) == 1 ? Path.DOTS : Path.TAP_GEMMS;
  }

  float[] weightGradient(float[] x, float[] dy, Path path) {
    return path == Path.TAP_GEMMS ? byTapGemms(x, dy) : onHeap(x, dy, path == Path.SIMD);
  }

  /**
   * Images per GEMM block: a fixed function of the layer's shape (never of threads or
   * partitions), so the summation order, and every bit of the result, is the same in any run.
   */
  int imagesPerBlock() {
    return Math.max(1, Math.min(n, ConvGrad.BLOCK / (c * image)));
  }

  /**
   * Images per block of the heap layout: one group's rows of dY and X within half of L2 (64 K
   * floats), so the copy stays in cache for the kernel (ConvGradBench: 8-20% faster than
   * blocks of 4 MB on resnet_s's 3x3 convs). Like {@link #imagesPerBlock}, a function of the
   * layer's shape alone.
   */
  int heapImagesPerBlock() {
    return Math.max(1, Math.min(n, HEAP_BLOCK / ((mg + cg) * image)));
  }

  private float[] byTapGemms(float[] x, float[] dy) {
    int imgs = imagesPerBlock();
    Scratch s = Scratch.get();
    int outLen = g * taps * mg * cg;
    FloatPointer outP = s.pointer(1, outLen);
    zero(s.buffer(1, outLen), 0, outLen);
    for (int i0 = 0; i0 < n; i0 += imgs) {
      int nb = Math.min(imgs, n - i0), ldy = nb * image, ldx = ldy + tail;
      // per group and tap: dW (mg x cg) += dY (mg x ldy) X^T, X's rows ldx apart
      GemmShape tap = new GemmShape(false, true, mg, cg, ldy, ldy, ldx, cg);
      FloatPointer xP = s.pointer(2, (long) c * ldx);
      FloatBuffer xB = s.buffer(2, (long) c * ldx);
      FloatPointer yP = s.pointer(4, (long) m * ldy);
      FloatBuffer yB = s.buffer(4, (long) m * ldy);
      for (int ci = 0; ci < c; ci++) {
        for (int b = 0; b < nb; b++) {
          place(xB, ci * ldx + b * image, x, ((i0 + b) * c + ci) * h * wd, h, wd, top, left);
        }
        // every position a shifted read can reach must hold a finite value: 0 * NaN is NaN
        zero(xB, ci * ldx + ldy, tail);
      }
      for (int co = 0; co < m; co++) {
        for (int b = 0; b < nb; b++) {
          place(yB, co * ldy + b * image, dy, ((i0 + b) * m + co) * oh * ow, oh, ow, 0, 0);
        }
      }
      for (int gi = 0; gi < g; gi++) {
        for (int t = 0; t < taps; t++) {
          Scratch.sgemm(tap, yP, (long) gi * mg * ldy, xP, (long) gi * cg * ldx + offsets[t], 1f, outP,
              (long) (gi * taps + t) * mg * cg);
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

  /**
   * The layout on a heap array: the SIMD kernel register-blocked over output channels and taps
   * ({@link SimdFilterGrad}), or (its scalar fallback) a dot product per channel pair and tap.
   */
  private float[] onHeap(float[] x, float[] dy, boolean blocked) {
    int imgs = heapImagesPerBlock();
    float[] dw = new float[m * cg * taps];
    float[] lanes = blocked ? new float[m * cg * taps * LANES] : null;
    for (int i0 = 0; i0 < n; i0 += imgs) {
      // whole cache lines: the rows end in zeros of dY up to a multiple of 16 floats
      int nb = Math.min(imgs, n - i0), ldy = (nb * image + LINE - 1) / LINE * LINE, ldx = ldy + tail;
      float[] buf = Scratch.get().array(HEAD + mg * ldy + cg * ldx);
      int xa = HEAD + mg * ldy;
      for (int gi = 0; gi < g; gi++) {
        for (int ci = 0; ci < cg; ci++) {
          for (int b = 0; b < nb; b++) {
            place(buf, xa + ci * ldx + b * image, x, ((i0 + b) * c + gi * cg + ci) * h * wd, h, wd, top, left);
          }
          Arrays.fill(buf, xa + ci * ldx + nb * image, xa + (ci + 1) * ldx, 0f);
        }
        for (int co = 0; co < mg; co++) {
          for (int b = 0; b < nb; b++) place(buf, HEAD + co * ldy + b * image, dy, ((i0 + b) * m + gi * mg + co) * oh * ow, oh, ow, 0, 0);
          Arrays.fill(buf, HEAD + co * ldy + nb * image, HEAD + (co + 1) * ldy, 0f);
        }
        if (blocked) {
          SimdFilterGrad.accumulate(new SimdFilterGrad.Rows(buf, HEAD, ldy, xa, ldx, mg, cg, offsets), lanes,
              gi * mg * cg * taps * LANES);
          continue;
        }
        for (int co = 0; co < mg; co++) {
          for (int ci = 0; ci < cg; ci++) {
            int d = ((gi * mg + co) * cg + ci) * taps;
            for (int t = 0; t < taps; t++) {
              int xo = xa + ci * ldx + offsets[t], yo = HEAD + co * ldy;
              dw[d + t] += dot(buf, yo, buf, xo, ldy);
            }
          }
        }
      }
    }
    if (blocked) {
      for (int i = 0; i < dw.length; i++) {
        float r = 0f;
        for (int l = 0; l < LANES; l++) r += lanes[i * LANES + l];
        dw[i] = r;
      }
    }
    return dw;
  }

  static float dot(float[] a, int ao, float[] b, int bo, int len) {
    float r = 0f;
    for (int i = 0; i < len; i++) r = Math.fma(a[ao + i], b[bo + i], r);
    return r;
  }

  /** Writes a rows x cols block at (top, left) of one image's Wp-wide region starting at base, zeros around it. */
  private void place(FloatBuffer dst, int base, float[] src, int srcOff, int rows, int cols, int top, int left) {
    if (cols == wp) { // no pads within the rows (pointwise convs): one copy
      zero(dst, base, top * wp);
      dst.put(base + top * wp, src, srcOff, rows * cols);
      zero(dst, base + (top + rows) * wp, image - (top + rows) * wp);
      return;
    }
    int pos = 0;
    for (int y = 0; y < rows; y++) {
      int start = (y + top) * wp + left;
      zero(dst, base + pos, start - pos);
      dst.put(base + start, src, srcOff + y * cols, cols);
      pos = start + cols;
    }
    zero(dst, base + pos, image - pos);
  }

  private void place(float[] dst, int base, float[] src, int srcOff, int rows, int cols, int top, int left) {
    if (Conv.SIMD && cols < wp) {
      Arrays.fill(dst, base, base + top * wp + left, 0f);
      SimdFilterGrad.copyRows(dst, base + top * wp + left, wp, src, srcOff, cols, rows);
      Arrays.fill(dst, base + (top + rows - 1) * wp + left + cols, base + image, 0f);
      return;
    }
    if (cols == wp) {
      Arrays.fill(dst, base, base + top * wp, 0f);
      System.arraycopy(src, srcOff, dst, base + top * wp, rows * cols);
      Arrays.fill(dst, base + (top + rows) * wp, base + image, 0f);
      return;
    }
    int pos = 0;
    for (int y = 0; y < rows; y++) {
      int start = (y + top) * wp + left;
      Arrays.fill(dst, base + pos, base + start, 0f);
      System.arraycopy(src, srcOff + y * cols, dst, base + start, cols);
      pos = start + cols;
    }
    Arrays.fill(dst, base + pos, base + image, 0f);
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

package io.qspark.dpu;

import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.ops.DpuAveragePool;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;

/**
 * The DPU's integer arithmetic, one plain reference kernel per op: long accumulators, products
 * of integers, shifts. The simulator's fast paths are tested against these, and these against
 * hand-computed values (IntegerOpsTest). Every result is the exact rational value rounded once,
 * which is what fake-quant computes where its float arithmetic is exact.
 */
public final class IntegerOps {
  /** LeakyReLU on the DPU: x * 26 / 256 for negative x. */
  public static final int LEAKY_NUMERATOR = 26;
  public static final int LEAKY_SHIFT = 8;

  private IntegerOps() {}

  /**
   * The widest shift the helpers take either way: Java's {@code <<} and {@code >>} use only the
   * low 6 bits of the count (a shift by 64 is none), so a wider one is refused instead. Every
   * shift a checked deploy model implies is far inside (dpu-sim/README.md, legal ranges).
   */
  public static final int MAX_SHIFT = 62;

  /** acc / 2^s rounded as r (s > 0), acc * 2^-s exactly (s <= 0, a left shift); |s| at most {@link #MAX_SHIFT}. */
  public static long roundShift(long acc, int s, Rounding r) {
    checkShift(s, -MAX_SHIFT, "shift");
    if (s <= 0) return acc << -s;
    long half = 1L << (s - 1);
    switch (r) {
      case HALF_UP:
        return (acc + half) >> s;
      case HALF_AWAY:
        return acc < 0 ? -((-acc + half) >> s) : (acc + half) >> s;
      case HALF_EVEN: {
        long fl = acc >> s;
        long rem = acc - (fl << s);
        if (rem > half || rem == half && (fl & 1) != 0) fl++;
        return fl;
      }
      default:
        throw new AssertionError(r);
    }
  }

  /** s itself, if it lies in [lo, MAX_SHIFT]. */
  static int checkShift(int s, int lo, String what) {
    if (s < lo || s > MAX_SHIFT) throw new DeployException(what + " " + s + " outside [" + lo + ", " + MAX_SHIFT + "]");
    return s;
  }

  public static int saturate(long v, int bits) {
    long hi = (1L << (bits - 1)) - 1, lo = -(1L << (bits - 1));
    return (int) Math.max(lo, Math.min(hi, v));
  }

  /**
   * How a conv/fc accumulator becomes an output integer: the bias aligned (shift_bias; when
   * negative the products are shifted left instead, so nothing is lost), the activation, then
   * shift_cut with rounding, then saturation.
   */
  public static final class Requant {
    public static final int NONE = 0, RELU = 1, CLIP = 2, LEAKY = 3;
    private final int shiftBias, shiftCut, kind, bits;
    private final Rounding rounding;
    /** Clip bounds in accumulator units and what a clipped value becomes (precomputed: per-element scalb is slow). */
    private final double loAcc, hiAcc;
    private final int loOut, hiOut;

    /**
     * @param kind NONE, RELU, CLIP (to [actMin, actMax]) or LEAKY
     * @param accFixPoint the accumulator's fix_point: the input's plus the weights'
     * @param out the output's quantizer: its bits, fix_point and rounding
     */
    public Requant(int shiftBias, int shiftCut, int kind, double actMin, double actMax, int accFixPoint, FixPoint out) {
      final int bits = out.bits(), outFixPoint = out.fixPoint();
      final Rounding rounding = out.rounding();
      // every shift apply() makes: the bias or the products left, then the cut (+8 for LeakyReLU) right
      checkShift(shiftBias, -MAX_SHIFT, "shift_bias");
      checkShift(shiftCut - Math.min(0, shiftBias) + (kind == LEAKY ? LEAKY_SHIFT : 0), 0, "shift_cut");
      this.shiftBias = shiftBias;
      this.shiftCut = shiftCut;
      this.kind = kind;
      this.bits = bits;
      this.rounding = rounding;
      // the bounds in accumulator units (exponent accFixPoint - min(0, shiftBias)); a bound off
      // the accumulator's grid is rounded directly, as fake-quant rounds the clipped float
      int e = accFixPoint - Math.min(0, shiftBias);
      this.loAcc = Math.scalb(actMin, e);
      this.hiAcc = Math.scalb(actMax, e);
      this.loOut = kind == CLIP ? constant(actMin, outFixPoint) : 0;
      this.hiOut = kind == CLIP ? constant(actMax, outFixPoint) : 0;
    }

    public int apply(long acc, long bias) {
      int s = shiftCut;
      if (shiftBias >= 0) {
        acc += bias << shiftBias;
      } else {
        acc = (acc << -shiftBias) + bias;
        s -= shiftBias;
      }
      switch (kind) {
        case RELU:
          if (acc < 0) acc = 0;
          break;
        case CLIP:
          if (acc > hiAcc) return hiOut;
          if (acc < loAcc) return loOut;
          break;
        case LEAKY:
          acc = acc < 0 ? acc * LEAKY_NUMERATOR : acc << LEAKY_SHIFT;
          s += LEAKY_SHIFT;
          break;
        default:
          break;
      }
      return saturate(roundShift(acc, s, rounding), bits);
    }

    /** What a value clipped at the lower bound becomes (CLIP). */
    int clippedLow() {
      return loOut;
    }

    /** What a value clipped at the upper bound becomes (CLIP). */
    int clippedHigh() {
      return hiOut;
    }

    private int constant(double v, int outFixPoint) {
      if (Double.isInfinite(v)) return v > 0 ? saturate(Long.MAX_VALUE, bits) : saturate(Long.MIN_VALUE, bits);
      return saturate((long) rounding.round(Math.scalb(v, outFixPoint)), bits);
    }
  }

  /**
   * Reference 2-D convolution, NCHW, OIHW weights, grouped: x [n, c, h, w], out [n, m, oh, ow]
   * as s gives them, with its window and pads.
   */
  public static void conv(int[] x, byte[] wt, int[] bias, ConvShape s, Requant rq, int[] out) {
    final int n = s.batch(), c = s.channels(), h = s.height(), w = s.width(), m = s.outChannels();
    final int oh = s.outHeight(), ow = s.outWidth(), cg = s.groupChannels(), mg = s.groupOutChannels();
    final ConvGeometry geo = s.geometry();
    final int kh = geo.kh, kw = geo.kw, sh = geo.sh, sw = geo.sw, dh = geo.dh, dw = geo.dw;
    final int top = s.padTop(), left = s.padLeft();
    for (int ni = 0; ni < n; ni++) {
      for (int oc = 0; oc < m; oc++) {
        int g = oc / mg;
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            long acc = 0;
            for (int ci = 0; ci < cg; ci++) {
              int ic = g * cg + ci;
              for (int ky = 0; ky < kh; ky++) {
                int iy = oy * sh - top + ky * dh;
                if (iy < 0 || iy >= h) continue;
                for (int kx = 0; kx < kw; kx++) {
                  int ix = ox * sw - left + kx * dw;
                  if (ix < 0 || ix >= w) continue;
                  acc += (long) x[((ni * c + ic) * h + iy) * w + ix] * wt[((oc * cg + ci) * kh + ky) * kw + kx];
                }
              }
            }
            out[((ni * m + oc) * oh + oy) * ow + ox] = rq.apply(acc, bias == null ? 0 : bias[oc]);
          }
        }
      }
    }
  }

  /** Reference fully connected layer: x [n, k], weights [m, k], out [n, m]. */
  public static void fc(int[] x, int n, int k, byte[] wt, int m, int[] bias, Requant rq, int[] out) {
    for (int ni = 0; ni < n; ni++) {
      for (int o = 0; o < m; o++) {
        long acc = 0;
        for (int i = 0; i < k; i++) acc += (long) x[ni * k + i] * wt[o * k + i];
        out[ni * m + o] = rq.apply(acc, bias == null ? 0 : bias[o]);
      }
    }
  }

  /** Eltwise add: inputs aligned left to the finest grid, summed, shifted to the output. */
  public static void add(int[][] xs, int[] inputShifts, int outputShift, int bits, Rounding r, int[] out) {
    for (int s : inputShifts) checkShift(s, 0, "input shift");
    checkShift(outputShift, -MAX_SHIFT, "output shift");
    for (int i = 0; i < out.length; i++) {
      long acc = 0;
      for (int j = 0; j < xs.length; j++) acc += (long) xs[j][i] << inputShifts[j];
      out[i] = saturate(roundShift(acc, outputShift, r), bits);
    }
  }

  /** Eltwise multiply: the exact product, shifted by outputShift (in_fp0 + in_fp1 - out_fp) to the output. */
  public static void mul(int[] a, int[] b, int outputShift, int bits, Rounding r, int[] out) {
    for (int i = 0; i < out.length; i++) out[i] = saturate(roundShift((long) a[i] * b[i], outputShift, r), bits);
  }

  /**
   * Pooling over each of the n x c planes of x [n, c, h, w] into out [n, c, oh, ow], with the
   * window and pads of s (a depthwise conv's shape); taps outside the input are skipped (max)
   * or count as zero (average: the DPU's divisor does not depend on them). An average is
   * sum * multiplier / 2^shift (avg), rounded as r and saturated to bits.
   */
  public static void pool(boolean max, int[] x, ConvShape s, DpuAveragePool avg, int bits, Rounding r, int[] out) {
    final int planes = s.batch() * s.channels(), h = s.height(), w = s.width(), oh = s.outHeight(), ow = s.outWidth();
    final ConvGeometry geo = s.geometry();
    final int kh = geo.kh, kw = geo.kw, sh = geo.sh, sw = geo.sw, dh = geo.dh, dw = geo.dw;
    final int top = s.padTop(), left = s.padLeft();
    final int multiplier = avg.multiplier(), avgShift = avg.shift();
    if (!max) checkShift(avgShift, -MAX_SHIFT, "avg_shift");
    for (int p = 0; p < planes; p++) {
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          long acc = max ? Long.MIN_VALUE : 0;
          for (int ky = 0; ky < kh; ky++) {
            int iy = oy * sh - top + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; kx++) {
              int ix = ox * sw - left + kx * dw;
              if (ix < 0 || ix >= w) continue;
              int v = x[(p * h + iy) * w + ix];
              acc = max ? Math.max(acc, v) : acc + v;
            }
          }
          int o = (p * oh + oy) * ow + ox;
          if (max) {
            out[o] = acc == Long.MIN_VALUE ? 0 : (int) acc;
          } else {
            out[o] = saturate(roundShift(acc * multiplier, avgShift, r), bits);
          }
        }
      }
    }
  }
}

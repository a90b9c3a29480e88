package io.qspark.kernels.ops;

import io.qspark.kernels.blas.Workspace;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Convolution as an implicit GEMM on SIMD registers: the input is transposed once to padded
 * NHWC so that, for a kernel tap, the channels under an output pixel are contiguous; a 4-pixel
 * x 16-channel tile of outputs stays in eight vector accumulators while taps and input
 * channels stream past. No im2col matrix (9x the input for a 3x3 kernel) is ever written, and
 * the small channel counts of edge models, where a BLAS call spends its time packing, run
 * near the FMA units' rate.
 *
 * <p>Each output element is one sequential FMA chain over (tap, channel), so it depends on
 * nothing but its own image: batching and threading cannot change a result. Loaded only when
 * the jdk.incubator.vector module is present; {@link Conv} falls back to im2col + BLAS.
 */
final class DirectConv {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
  /** Output channels per tile: two 8-lane vectors. */
  private static final int PANEL = 16;

  private DirectConv() {}

  static void run(float[] x, float[] w, float[] bias, float[] out, int n, int c, int h, int wd,
      int m, int g, int oh, int ow, ConvGeometry geo, int[] pads, Activation act) {
    int cg = c / g, mg = m / g;
    int taps = geo.kh * geo.kw;
    int hp = h + pads[0] + pads[2];
    int wp = wd + pads[1] + pads[3];
    int panels = (mg + PANEL - 1) / PANEL;
    int mp = panels * PANEL;
    int p = oh * ow;
    Workspace ws = Workspace.get();
    float[][] buf = ws.heapArrays(3, new long[] {(long) hp * wp * cg, (long) panels * taps * cg * PANEL, (long) p * mp});
    float[] xp = buf[0];
    float[] bp = buf[1];
    float[] t = buf[2];
    for (int gi = 0; gi < g; gi++) {
      pack(w, gi, mg, cg, taps, panels, bp);
      for (int ni = 0; ni < n; ni++) {
        padNhwc(x, (ni * c + gi * cg) * h * wd, cg, h, wd, pads, wp, hp, xp);
        for (int pn = 0; pn < panels; pn++) {
          for (int oy = 0; oy < oh; oy++) {
            tileRow(xp, bp, t, pn, oy, ow, cg, taps, wp, mp, geo);
          }
        }
        int dst = (ni * m + gi * mg) * p;
        for (int mi = 0; mi < mg; mi++) {
          int o = dst + mi * p;
          float bv = bias == null ? 0f : bias[gi * mg + mi];
          for (int q = 0; q < p; q++) out[o + q] = t[q * mp + mi] + bv;
          if (act != null) act.apply(out, o, o + p);
        }
      }
    }
  }

  /** Weights of group gi as [panel][tap][channel][16], zero beyond the group's channels. */
  private static void pack(float[] w, int gi, int mg, int cg, int taps, int panels, float[] bp) {
    for (int pn = 0; pn < panels; pn++) {
      for (int tap = 0; tap < taps; tap++) {
        for (int ci = 0; ci < cg; ci++) {
          int dst = ((pn * taps + tap) * cg + ci) * PANEL;
          for (int j = 0; j < PANEL; j++) {
            int oc = pn * PANEL + j;
            bp[dst + j] = oc < mg ? w[((gi * mg + oc) * cg + ci) * taps + tap] : 0f;
          }
        }
      }
    }
  }

  /** One image's channels as zero-padded NHWC: xp[(y * wp + x) * cg + ci]. */
  private static void padNhwc(float[] x, int base, int cg, int h, int wd, int[] pads, int wp, int hp, float[] xp) {
    java.util.Arrays.fill(xp, 0, hp * wp * cg, 0f);
    for (int ci = 0; ci < cg; ci++) {
      int src = base + ci * h * wd;
      for (int iy = 0; iy < h; iy++) {
        int d = ((iy + pads[0]) * wp + pads[1]) * cg + ci;
        for (int ix = 0; ix < wd; ix++, d += cg) xp[d] = x[src + iy * wd + ix];
      }
    }
  }

  /**
   * Output row oy, channel panel pn, into t[pixel * mp + channel]. Taps are walked as runs
   * that are contiguous in both xp and bp (a whole kernel row of channels when dilation is 1),
   * each run one call of a flat loop: C2 keeps vector accumulators in registers only across a
   * single loop, so they pass through t between runs.
   */
  private static void tileRow(float[] xp, float[] bp, float[] t, int pn, int oy, int ow, int cg,
      int taps, int wp, int mp, ConvGeometry geo) {
    int sx = geo.sw * cg;
    boolean rowRuns = geo.dw == 1;
    int run = rowRuns ? geo.kw * cg : cg;
    int runsPerRow = rowRuns ? 1 : geo.kw;
    for (int ox = 0; ox < ow; ox += 4) {
      int o = (oy * ow + ox) * mp + pn * PANEL;
      boolean four = ox + 4 <= ow;
      boolean first = true;
      for (int ki = 0; ki < geo.kh; ki++) {
        int row = (oy * geo.sh + ki * geo.dh) * wp;
        for (int r = 0; r < runsPerRow; r++) {
          int x0 = (row + ox * geo.sw + r * geo.dw) * cg;
          int b = ((pn * taps + ki * geo.kw + r) * cg) * PANEL;
          if (four) {
            run4(xp, x0, sx, bp, b, run, t, o, mp, first);
          } else {
            for (int q = 0; ox + q < ow; q++) run1(xp, x0 + q * sx, bp, b, run, t, o + q * mp, first);
          }
          first = false;
        }
      }
    }
  }

  private static void run4(float[] xp, int x0, int sx, float[] bp, int b, int len, float[] t,
      int o, int mp, boolean first) {
    FloatVector a00, a01, a10, a11, a20, a21, a30, a31;
    if (first) {
      a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = FloatVector.zero(S);
    } else {
      a00 = FloatVector.fromArray(S, t, o);
      a01 = FloatVector.fromArray(S, t, o + 8);
      a10 = FloatVector.fromArray(S, t, o + mp);
      a11 = FloatVector.fromArray(S, t, o + mp + 8);
      a20 = FloatVector.fromArray(S, t, o + 2 * mp);
      a21 = FloatVector.fromArray(S, t, o + 2 * mp + 8);
      a30 = FloatVector.fromArray(S, t, o + 3 * mp);
      a31 = FloatVector.fromArray(S, t, o + 3 * mp + 8);
    }
    for (int i = 0; i < len; i++, b += PANEL) {
      FloatVector b0 = FloatVector.fromArray(S, bp, b);
      FloatVector b1 = FloatVector.fromArray(S, bp, b + 8);
      int xi = x0 + i;
      FloatVector v = FloatVector.broadcast(S, xp[xi]);
      a00 = v.fma(b0, a00);
      a01 = v.fma(b1, a01);
      v = FloatVector.broadcast(S, xp[xi + sx]);
      a10 = v.fma(b0, a10);
      a11 = v.fma(b1, a11);
      v = FloatVector.broadcast(S, xp[xi + 2 * sx]);
      a20 = v.fma(b0, a20);
      a21 = v.fma(b1, a21);
      v = FloatVector.broadcast(S, xp[xi + 3 * sx]);
      a30 = v.fma(b0, a30);
      a31 = v.fma(b1, a31);
    }
    a00.intoArray(t, o);
    a01.intoArray(t, o + 8);
    a10.intoArray(t, o + mp);
    a11.intoArray(t, o + mp + 8);
    a20.intoArray(t, o + 2 * mp);
    a21.intoArray(t, o + 2 * mp + 8);
    a30.intoArray(t, o + 3 * mp);
    a31.intoArray(t, o + 3 * mp + 8);
  }

  private static void run1(float[] xp, int x0, float[] bp, int b, int len, float[] t, int o,
      boolean first) {
    FloatVector a0 = first ? FloatVector.zero(S) : FloatVector.fromArray(S, t, o);
    FloatVector a1 = first ? FloatVector.zero(S) : FloatVector.fromArray(S, t, o + 8);
    for (int i = 0; i < len; i++, b += PANEL) {
      FloatVector v = FloatVector.broadcast(S, xp[x0 + i]);
      a0 = v.fma(FloatVector.fromArray(S, bp, b), a0);
      a1 = v.fma(FloatVector.fromArray(S, bp, b + 8), a1);
    }
    a0.intoArray(t, o);
    a1.intoArray(t, o + 8);
  }
}

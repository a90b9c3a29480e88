package io.qspark.kernels.train;

import io.qspark.kernels.simd.VectorWidth;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernel of {@link ShiftedFilterGrad}: dW[co][ci][t] = sum_j dY[co][j] X[ci][j + o_t]
 * with three output channels and three taps in registers (nine accumulators, six loads per nine
 * FMAs) or four and two (eight, six per eight), or for the output channels left over
 * (depthwise: all) one channel and eight taps (nine loads per eight FMAs, against two per FMA
 * for a plain dot product), over chunks of j that keep a chunk's rows of dY and X in cache while
 * every channel pair and tap passes over them. Per-lane partial sums live in a float array
 * between chunks and image blocks, so the summation order is fixed by the layer's shape alone:
 * logical lane l of a (channel pair, tap) sums the products at the j congruent to l modulo
 * {@link ShiftedFilterGrad#LANES}, in increasing j. A vector holds V of those lanes; each chunk
 * takes one pass per vector's worth of lanes (one at 512 bits, two at 256), each stepping j by
 * {@link ShiftedFilterGrad#LANES}, so every vector width gives the same bits.
 */
final class SimdFilterGrad {
  private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
  /** Float lanes per vector. */
  private static final int V = S.length();
  /** Logical lanes of the partial sums, and the step of j. */
  private static final int L = ShiftedFilterGrad.LANES;
  /** Floats of j per chunk: 4 rows of dY and a row of X in L1, all rows of the group in L2. */
  static final int CHUNK = 1024;

  private SimdFilterGrad() {}

  /**
   * One group's block of the heap layout: mg rows of dY, row co at y0 + co ldy, and cg rows of X,
   * row ci at x0 + ci ldx, read at offset off[t] for tap t. ldy is a multiple of the lanes and X
   * is readable to ldy + the last offset.
   */
  record Rows(float[] buf, int y0, int ldy, int x0, int ldx, int mg, int cg, int[] off) {}

  /**
   * One accumulation as the passes and kernels take it: the rows, the partial sums (channel pair
   * (co, ci), tap t, logical lane l at lanes[p0 + ((co cg + ci) taps + t) L + l]; stride apart
   * from one output channel to the next), where each (ci, tap) pair's X starts (xs), and the
   * output channels in nf blocks of four then nt blocks of three. Made once per accumulate call.
   */
  private record Plan(Rows rows, float[] lanes, int p0, int[] xs, int nf, int nt, int stride) {}

  /** lanes[p0 + ((co cg + ci) taps + t) L + lane] accumulates dY row co times X row ci at tap t's offset. */
  static void accumulate(Rows r, float[] lanes, int p0) {
    final int mg = r.mg(), cg = r.cg(), x0 = r.x0(), ldx = r.ldx(), ldy = r.ldy();
    final int[] off = r.off();
    int taps = off.length, q1 = cg * taps;
    // output channels in blocks of three against three (ci, tap) pairs (nine accumulators, six
    // loads per nine FMAs) where the pairs come in threes (kxk convs: a kernel row), with as few
    // blocks of four against two (eight accumulators, six loads per eight FMAs) as make up mg
    int nf = mg / 4, nt = 0;
    if (q1 % 3 == 0 && mg >= 4 * (mg % 3)) {
      nf = mg % 3;
      nt = (mg - 4 * nf) / 3;
    }
    // where each (ci, tap) pair's X starts, flattened
    int[] xs = new int[q1];
    for (int q = 0; q < q1; q++) xs[q] = x0 + q / taps * ldx + off[q % taps];
    Plan plan = new Plan(r, lanes, p0, xs, nf, nt, q1 * L);
    for (int j0 = 0; j0 < ldy; j0 += CHUNK) {
      int j1 = Math.min(ldy, j0 + CHUNK);
      for (int h = 0; h < L; h += V) pass(plan, j0 + h, j1, h);
    }
  }

  /** One pass over j = ja, ja + L, .. < j1: logical lanes [h, h + V) of every accumulator. */
  private static void pass(Plan plan, int ja, int j1, int h) {
    final Rows r = plan.rows();
    final int y0 = r.y0(), ldy = r.ldy(), x0 = r.x0(), ldx = r.ldx(), mg = r.mg(), cg = r.cg();
    final int[] off = r.off(), xs = plan.xs();
    final int p0 = plan.p0(), nf = plan.nf(), nt = plan.nt();
    int taps = off.length, q1 = cg * taps;
    int co = 0;
    // the (ci, tap) pairs in order, two or three at a time: a group may straddle two input
    // channels, so only one odd pair per block of four runs on four accumulators
    for (; co < 4 * nf; co += 4) {
      int p = p0 + co * q1 * L + h, yr = y0 + co * ldy;
      int q = 0;
      for (; q + 2 <= q1; q += 2) k4x2(plan, yr, xs[q], xs[q + 1], ja, j1, p + q * L);
      if (q < q1) k4x1(plan, yr, xs[q], ja, j1, p + q * L);
    }
    for (; co < 4 * nf + 3 * nt; co += 3) {
      int p = p0 + co * q1 * L + h, yr = y0 + co * ldy;
      for (int q = 0; q + 3 <= q1; q += 3) k3x3(plan, yr, xs[q], xs[q + 1], xs[q + 2], ja, j1, p + q * L);
    }
    for (; co < mg; co++) {
      for (int ci = 0; ci < cg; ci++) {
        int p = p0 + (co * cg + ci) * taps * L + h, xr = x0 + ci * ldx, yr = y0 + co * ldy;
        int t = 0;
        for (; t + 8 <= taps; t += 8) k1x8(plan, yr, xr, t, ja, j1, p + t * L);
        for (; t < taps; t++) k1x1(plan, yr, xr + off[t], ja, j1, p + t * L);
      }
    }
  }

  /**
   * rows rows of cols floats from src (consecutive) to dst with pitch > cols, zeros between
   * them. Whole vectors: a row's last vector may run past it into the pad and the next row,
   * which the zeros and the next row then overwrite; the last row alone ends exactly. Rows
   * shorter than half a vector (the overrun would pass the next row) by plain copies.
   */
  static void copyRows(float[] dst, int d, int pitch, float[] src, int s, int cols, int rows) {
    int over = (cols + V - 1) / V * V;
    if (over > 2 * cols) {
      for (int y = 0; y < rows; y++, d += pitch, s += cols) {
        System.arraycopy(src, s, dst, d, cols);
        if (y < rows - 1) Arrays.fill(dst, d + cols, d + pitch, 0f);
      }
      return;
    }
    for (int y = 0; y < rows - 1; y++, d += pitch, s += cols) {
      for (int k = 0; k < over; k += V) FloatVector.fromArray(S, src, s + k).intoArray(dst, d + k);
      Arrays.fill(dst, d + cols, d + pitch, 0f);
    }
    int k = 0;
    for (; k + V <= cols; k += V) FloatVector.fromArray(S, src, s + k).intoArray(dst, d + k);
    for (; k < cols; k++) dst[d + k] = src[s + k];
  }

  private static void k4x2(Plan plan, int y, int xu, int xv, int j0, int j1, int p) {
    final float[] b = plan.rows().buf(), acc = plan.lanes();
    final int ldy = plan.rows().ldy(), sc = plan.stride();
    FloatVector a0u = FloatVector.fromArray(S, acc, p), a0v = FloatVector.fromArray(S, acc, p + L);
    FloatVector a1u = FloatVector.fromArray(S, acc, p + sc), a1v = FloatVector.fromArray(S, acc, p + sc + L);
    FloatVector a2u = FloatVector.fromArray(S, acc, p + 2 * sc), a2v = FloatVector.fromArray(S, acc, p + 2 * sc + L);
    FloatVector a3u = FloatVector.fromArray(S, acc, p + 3 * sc), a3v = FloatVector.fromArray(S, acc, p + 3 * sc + L);
    for (int j = j0; j < j1; j += L) {
      FloatVector u = FloatVector.fromArray(S, b, xu + j), v = FloatVector.fromArray(S, b, xv + j);
      FloatVector d = FloatVector.fromArray(S, b, y + j);
      a0u = d.fma(u, a0u);
      a0v = d.fma(v, a0v);
      d = FloatVector.fromArray(S, b, y + ldy + j);
      a1u = d.fma(u, a1u);
      a1v = d.fma(v, a1v);
      d = FloatVector.fromArray(S, b, y + 2 * ldy + j);
      a2u = d.fma(u, a2u);
      a2v = d.fma(v, a2v);
      d = FloatVector.fromArray(S, b, y + 3 * ldy + j);
      a3u = d.fma(u, a3u);
      a3v = d.fma(v, a3v);
    }
    a0u.intoArray(acc, p);
    a0v.intoArray(acc, p + L);
    a1u.intoArray(acc, p + sc);
    a1v.intoArray(acc, p + sc + L);
    a2u.intoArray(acc, p + 2 * sc);
    a2v.intoArray(acc, p + 2 * sc + L);
    a3u.intoArray(acc, p + 3 * sc);
    a3v.intoArray(acc, p + 3 * sc + L);
  }

  private static void k3x3(Plan plan, int y, int xu, int xv, int xw, int j0, int j1, int p) {
    final float[] b = plan.rows().buf(), acc = plan.lanes();
    final int ldy = plan.rows().ldy(), sc = plan.stride();
    FloatVector a0u = FloatVector.fromArray(S, acc, p), a0v = FloatVector.fromArray(S, acc, p + L), a0w = FloatVector.fromArray(S, acc, p + 2 * L);
    FloatVector a1u = FloatVector.fromArray(S, acc, p + sc), a1v = FloatVector.fromArray(S, acc, p + sc + L), a1w = FloatVector.fromArray(S, acc, p + sc + 2 * L);
    FloatVector a2u = FloatVector.fromArray(S, acc, p + 2 * sc), a2v = FloatVector.fromArray(S, acc, p + 2 * sc + L), a2w = FloatVector.fromArray(S, acc, p + 2 * sc + 2 * L);
    for (int j = j0; j < j1; j += L) {
      FloatVector u = FloatVector.fromArray(S, b, xu + j), v = FloatVector.fromArray(S, b, xv + j), w = FloatVector.fromArray(S, b, xw + j);
      FloatVector d = FloatVector.fromArray(S, b, y + j);
      a0u = d.fma(u, a0u);
      a0v = d.fma(v, a0v);
      a0w = d.fma(w, a0w);
      d = FloatVector.fromArray(S, b, y + ldy + j);
      a1u = d.fma(u, a1u);
      a1v = d.fma(v, a1v);
      a1w = d.fma(w, a1w);
      d = FloatVector.fromArray(S, b, y + 2 * ldy + j);
      a2u = d.fma(u, a2u);
      a2v = d.fma(v, a2v);
      a2w = d.fma(w, a2w);
    }
    a0u.intoArray(acc, p);
    a0v.intoArray(acc, p + L);
    a0w.intoArray(acc, p + 2 * L);
    a1u.intoArray(acc, p + sc);
    a1v.intoArray(acc, p + sc + L);
    a1w.intoArray(acc, p + sc + 2 * L);
    a2u.intoArray(acc, p + 2 * sc);
    a2v.intoArray(acc, p + 2 * sc + L);
    a2w.intoArray(acc, p + 2 * sc + 2 * L);
  }

  private static void k4x1(Plan plan, int y, int xu, int j0, int j1, int p) {
    final float[] b = plan.rows().buf(), acc = plan.lanes();
    final int ldy = plan.rows().ldy(), sc = plan.stride();
    FloatVector a0 = FloatVector.fromArray(S, acc, p), a1 = FloatVector.fromArray(S, acc, p + sc);
    FloatVector a2 = FloatVector.fromArray(S, acc, p + 2 * sc), a3 = FloatVector.fromArray(S, acc, p + 3 * sc);
    for (int j = j0; j < j1; j += L) {
      FloatVector u = FloatVector.fromArray(S, b, xu + j);
      a0 = FloatVector.fromArray(S, b, y + j).fma(u, a0);
      a1 = FloatVector.fromArray(S, b, y + ldy + j).fma(u, a1);
      a2 = FloatVector.fromArray(S, b, y + 2 * ldy + j).fma(u, a2);
      a3 = FloatVector.fromArray(S, b, y + 3 * ldy + j).fma(u, a3);
    }
    a0.intoArray(acc, p);
    a1.intoArray(acc, p + sc);
    a2.intoArray(acc, p + 2 * sc);
    a3.intoArray(acc, p + 3 * sc);
  }

  private static void k1x8(Plan plan, int y, int x, int t, int j0, int j1, int p) {
    final float[] b = plan.rows().buf(), acc = plan.lanes();
    final int[] off = plan.rows().off();
    int x0 = x + off[t], x1 = x + off[t + 1], x2 = x + off[t + 2], x3 = x + off[t + 3];
    int x4 = x + off[t + 4], x5 = x + off[t + 5], x6 = x + off[t + 6], x7 = x + off[t + 7];
    FloatVector a0 = FloatVector.fromArray(S, acc, p), a1 = FloatVector.fromArray(S, acc, p + L);
    FloatVector a2 = FloatVector.fromArray(S, acc, p + 2 * L), a3 = FloatVector.fromArray(S, acc, p + 3 * L);
    FloatVector a4 = FloatVector.fromArray(S, acc, p + 4 * L), a5 = FloatVector.fromArray(S, acc, p + 5 * L);
    FloatVector a6 = FloatVector.fromArray(S, acc, p + 6 * L), a7 = FloatVector.fromArray(S, acc, p + 7 * L);
    for (int j = j0; j < j1; j += L) {
      FloatVector d = FloatVector.fromArray(S, b, y + j);
      a0 = d.fma(FloatVector.fromArray(S, b, x0 + j), a0);
      a1 = d.fma(FloatVector.fromArray(S, b, x1 + j), a1);
      a2 = d.fma(FloatVector.fromArray(S, b, x2 + j), a2);
      a3 = d.fma(FloatVector.fromArray(S, b, x3 + j), a3);
      a4 = d.fma(FloatVector.fromArray(S, b, x4 + j), a4);
      a5 = d.fma(FloatVector.fromArray(S, b, x5 + j), a5);
      a6 = d.fma(FloatVector.fromArray(S, b, x6 + j), a6);
      a7 = d.fma(FloatVector.fromArray(S, b, x7 + j), a7);
    }
    a0.intoArray(acc, p);
    a1.intoArray(acc, p + L);
    a2.intoArray(acc, p + 2 * L);
    a3.intoArray(acc, p + 3 * L);
    a4.intoArray(acc, p + 4 * L);
    a5.intoArray(acc, p + 5 * L);
    a6.intoArray(acc, p + 6 * L);
    a7.intoArray(acc, p + 7 * L);
  }

  private static void k1x1(Plan plan, int y, int xu, int j0, int j1, int p) {
    final float[] b = plan.rows().buf(), acc = plan.lanes();
    FloatVector a = FloatVector.fromArray(S, acc, p);
    for (int j = j0; j < j1; j += L) a = FloatVector.fromArray(S, b, y + j).fma(FloatVector.fromArray(S, b, xu + j), a);
    a.intoArray(acc, p);
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of a strided conv by polyphase decomposition onto the stride-1 machinery. Tap (ki, kj)
 * reads the padded input at (s oy + ki dh, s ox + kj dw); split it into the s x s phase planes
 * P_ab[y][x] = Xpad[s y + a][s x + b], and the taps with ki dh = a (mod s), kj dw = b (mod s)
 * form a stride-1 conv of P_ab (a sub-kernel, dilation dh / gcd(dh, s), first tap at
 * (ki dh div s, kj dw div s)). So dW of those taps is the stride-1 weight gradient of that
 * sub-kernel on P_ab ({@link ShiftedFilterGrad}), and dX on the input positions of phase (a, b)
 * the stride-1 transposed conv of dY with the sub-kernel (the forward {@link Conv}'s SIMD
 * kernels, as {@link ConvGrad} does for stride 1); the phases' results are scattered back. No
 * k x (H W) column matrix, and every phase's work is a fixed function of the layer's shape.
 */
final class PolyphaseConvGrad {
  private final int n, c, h, wd, m, g, cg, mg, kh, kw, sh, sw, top, left, oh, ow;
  private final Phase[] rowPhases, colPhases;

  PolyphaseConvGrad(ConvShape s) {
    final ConvGeometry geo = s.geometry();
    final int[] pads = s.pads();
    final int h = s.height(), wd = s.width();
    this.n = s.batch();
    this.c = s.channels();
    this.h = h;
    this.wd = wd;
    this.m = s.outChannels();
    this.g = s.groups();
    this.cg = s.groupChannels();
    this.mg = s.groupOutChannels();
    this.kh = geo.kh;
    this.kw = geo.kw;
    this.sh = geo.sh;
    this.sw = geo.sw;
    this.top = pads[0];
    this.left = pads[1];
    this.oh = s.outHeight();
    this.ow = s.outWidth();
    this.rowPhases = Phase.split(geo.sh, geo.kh, geo.dh, pads[0], h);
    this.colPhases = Phase.split(geo.sw, geo.kw, geo.dw, pads[1], wd);
  }

  /**
   * One direction's phase a: the taps (ascending) with tap * dilation = a (mod s), their reach
   * q0 + j dil in phase-plane units, and the input positions s y + a - pad, y in [lo, lo + count),
   * whose gradient that sub-kernel gives.
   */
  record Phase(int a, int[] taps, int q0, int dil, int lo, int count) {
    static Phase[] split(int s, int k, int d, int pad, int in) {
      Phase[] r = new Phase[s];
      int step = s / gcd(s, d);
      for (int a = 0; a < s; a++) {
        int first = -1;
        for (int t = 0; t < k && first < 0; t++) if (t * d % s == a) first = t;
        if (first < 0) continue;
        int[] taps = new int[(k - 1 - first) / step + 1];
        for (int j = 0; j < taps.length; j++) taps[j] = first + j * step;
        int lo = Math.floorDiv(pad - a + s - 1, s), hi = Math.floorDiv(in - 1 + pad - a, s);
        r[a] = new Phase(a, taps, first * d / s, d / gcd(s, d), lo, Math.max(0, hi - lo + 1));
      }
      return r;
    }

    /** Rows (or columns) of the phase plane a stride-1 conv over out positions reads. */
    int planeSize(int out) {
      return out + dil * (taps.length - 1);
    }

    /** Input position of phase-plane position y (before the plane's offset q0). */
    int input(int y, int s, int pad) {
      return s * (y + q0) + a - pad;
    }

    private static int gcd(int x, int y) {
      return y == 0 ? x : gcd(y, x % y);
    }
  }

  /** dW in the weight's layout [m][cg][kh][kw], from x [n][c][h][wd] and dy [n][m][oh][ow]. */
  float[] weightGradient(float[] x, float[] dy) {
    float[] dw = new float[m * cg * kh * kw];
    for (Phase pr : rowPhases) {
      if (pr == null) continue;
      for (Phase pc : colPhases) {
        if (pc == null) continue;
        int hq = pr.planeSize(oh), wq = pc.planeSize(ow), khs = pr.taps.length, kws = pc.taps.length;
        float[] plane = new float[n * c * hq * wq];
        int[] cols = new int[wq];
        for (int xq = 0; xq < wq; xq++) cols[xq] = pc.input(xq, sw, left);
        for (int ic = 0; ic < n * c; ic++) {
          int src = ic * h * wd, dst = ic * hq * wq;
          for (int yq = 0; yq < hq; yq++, dst += wq) {
            int iy = pr.input(yq, sh, top);
            if (iy < 0 || iy >= h) continue;
            int row = src + iy * wd;
            for (int xq = 0; xq < wq; xq++) {
              int ix = cols[xq];
              if (ix >= 0 && ix < wd) plane[dst + xq] = x[row + ix];
            }
          }
        }
        ConvShape phase = new ConvShape(new int[] {n, c, hq, wq}, new int[] {n, m, oh, ow}, g,
            ConvGeometry.window(khs, kws, 1, 1, pr.dil, pc.dil), new int[4]);
        ShiftedFilterGrad f = new ShiftedFilterGrad(phase);
        ShiftedFilterGrad.Path path = f.path();
        // the SIMD kernel also takes single taps (a depthwise phase of one tap): vector dots
        if (path == ShiftedFilterGrad.Path.DOTS && Conv.SIMD) path = ShiftedFilterGrad.Path.SIMD;
        float[] sub = f.weightGradient(plane, dy, path);
        for (int pair = 0; pair < m * cg; pair++) {
          for (int j = 0; j < khs; j++) {
            for (int l = 0; l < kws; l++) {
              dw[(pair * kh + pr.taps[j]) * kw + pc.taps[l]] = sub[(pair * khs + j) * kws + l];
            }
          }
        }
      }
    }
    return dw;
  }

  /**
   * dX [n][c][h][wd]: per phase (a, b), the forward Conv of dY with the phase's sub-kernel rotated
   * by 180 degrees and input and output channels swapped within each group, padded so that its
   * outputs are exactly the phase's input positions; where that pad would be negative (input
   * positions no window reaches, or pads beyond the kernel's reach), dY is cropped instead.
   */
  float[] inputGradient(float[] dy, float[] w) {
    float[] dx = new float[n * c * h * wd];
    float[][][] byPhase = new float[sh][sw][];
    for (Phase pr : rowPhases) {
      if (pr == null || pr.count == 0) continue;
      for (Phase pc : colPhases) {
        if (pc == null || pc.count == 0) continue;
        int khs = pr.taps.length, kws = pc.taps.length;
        float[] wt = new float[g * cg * mg * khs * kws];
        for (int gi = 0; gi < g; gi++) {
          for (int mo = 0; mo < mg; mo++) {
            for (int ci = 0; ci < cg; ci++) {
              int src = ((gi * mg + mo) * cg + ci) * kh * kw, dst = ((gi * cg + ci) * mg + mo) * khs * kws;
              for (int j = 0; j < khs; j++) {
                for (int l = 0; l < kws; l++) {
                  wt[dst + (khs - 1 - j) * kws + (kws - 1 - l)] = w[src + pr.taps[j] * kw + pc.taps[l]];
                }
              }
            }
          }
        }
        // phase-plane position y reads dY[y - q0 - j dil]: pad dY by the sub-kernel's reach
        int[] ry = pads(pr, oh), rx = pads(pc, ow);
        float[] in = dy;
        int ih = oh, iw = ow;
        if (ry[0] < 0 || ry[1] < 0 || rx[0] < 0 || rx[1] < 0) {
          in = crop(dy, ry, rx);
          ih = oh + Math.min(0, ry[0]) + Math.min(0, ry[1]);
          iw = ow + Math.min(0, rx[0]) + Math.min(0, rx[1]);
          if (ih <= 0 || iw <= 0) continue; // the phase's positions read pads only: no gradient
        }
        Attributes a = Attributes.empty()
            .with("pads", new long[] {Math.max(0, ry[0]), Math.max(0, rx[0]), Math.max(0, ry[1]), Math.max(0, rx[1])})
            .with("dilations", new long[] {pr.dil, pc.dil})
            .with("group", (long) g);
        byPhase[pr.a][pc.a] = new Conv(a).forward(new Tensor[] {Tensor.of(in, n, m, ih, iw), Tensor.of(wt, g * cg, mg, khs, kws)})[0].data();
      }
    }
    // one pass over dX, each row filled from its column phases at once: a pass per phase would
    // bring every row into cache once per phase (measured: the interleaving took as long as the convs)
    for (int ic = 0; ic < n * c; ic++) {
      for (Phase pr : rowPhases) {
        if (pr == null) continue;
        for (int y = 0; y < pr.count; y++) {
          int row = ic * h * wd + pr.input(y + pr.lo - pr.q0, sh, top) * wd;
          if (sw == 2 && (interleave2(byPhase[pr.a], colPhases[0], colPhases[1], ic * pr.count + y, dx, row)
              || interleave2(byPhase[pr.a], colPhases[1], colPhases[0], ic * pr.count + y, dx, row))) continue;
          for (Phase pc : colPhases) {
            float[] t = pc == null ? null : byPhase[pr.a][pc.a];
            if (t == null) continue;
            int nx = pc.count, src = (ic * pr.count + y) * nx, dst = row + start(pc);
            for (int xq = 0; xq < nx; xq++) dx[dst + xq * sw] = t[src + xq];
          }
        }
      }
    }
    return dx;
  }

  /** The input column of a column phase's first position. */
  private int start(Phase pc) {
    return pc.input(pc.lo - pc.q0, sw, left);
  }

  /**
   * Stride 2 across, both column phases computed, the even phase starting one column before the
   * odd one: one loop writing dX's row in order. False if the row is not of that kind.
   */
  private boolean interleave2(float[][] phases, Phase p0, Phase p1, int r, float[] dx, int row) {
    if (p0 == null || p1 == null || phases[p0.a] == null || phases[p1.a] == null) return false;
    int d0 = row + start(p0), d1 = row + start(p1);
    if (d1 != d0 + 1 || (p0.count != p1.count && p0.count != p1.count + 1)) return false;
    float[] t0 = phases[p0.a], t1 = phases[p1.a];
    int s0 = r * p0.count, s1 = r * p1.count, k = p1.count;
    for (int j = 0; j < k; j++) {
      dx[d0 + 2 * j] = t0[s0 + j];
      dx[d0 + 2 * j + 1] = t1[s1 + j];
    }
    if (p0.count > k) dx[d0 + 2 * k] = t0[s0 + k];
    return true;
  }

  /** {before, after} pads of dY for a phase: its output positions lo .. lo + count - 1. */
  private static int[] pads(Phase p, int out) {
    int reach = p.dil * (p.taps.length - 1), before = reach + p.q0 - p.lo;
    return new int[] {before, p.count - out - before + reach};
  }

  /** dY without the rows and columns a negative pad drops. */
  private float[] crop(float[] dy, int[] ry, int[] rx) {
    int y0 = Math.max(0, -ry[0]), x0 = Math.max(0, -rx[0]);
    int ih = oh - y0 - Math.max(0, -ry[1]), iw = ow - x0 - Math.max(0, -rx[1]);
    float[] r = new float[n * m * Math.max(0, ih) * Math.max(0, iw)];
    for (int im = 0; im < n * m; im++) {
      for (int y = 0; y < ih; y++) System.arraycopy(dy, (im * oh + y0 + y) * ow + x0, r, (im * ih + y) * iw, iw);
    }
    return r;
  }
}

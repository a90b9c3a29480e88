package io.qspark.kernels.ops;

import io.qspark.kernels.simd.VectorWidth;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Convolution as an implicit GEMM on SIMD registers, in NCHW with output pixels along the
 * vector lanes. One image's input channels are laid out as zero-padded planes of width
 * {@code wq}; an output row then reads, for kernel tap (ki, kj), the plane shifted by
 * {@code ki * wq + kj}, so the output plane can be computed as if it were one long row of
 * {@code oh * wq} pixels (the {@code wq - ow} columns past each row's end are computed and
 * thrown away). Every (input channel, tap) step of the reduction is then a fixed offset into the
 * padded input. Strides other than 1 split the padded input into its stride phases first (row
 * parity x column parity for stride 2), which turns a strided conv into a sum of stride-1 ones.
 * A 1x1 stride-1 unpadded conv reads its input where it lies and writes its output in place: it
 * is a plain GEMM. No im2col matrix of the image is written and nothing is transposed. The
 * commonest conv, 3x3 stride 1 pad 1, has no side padding at all ({@link Layout#masked}: rows of
 * the image's width, the taps that would read a side pad zeroed in the packed tile), so its
 * output plane is computed in place with no discarded columns; the 3x3 depthwise reads three
 * copies of each plane instead ({@link Layout#split}).
 *
 * <p>For each tile of {@link #TILE} output pixels (two vectors: 16 at 256 bits, 32 at 512) the
 * reduction's input is first packed contiguously (a tile per step, from L1), then a 4-channel
 * x tile of outputs stays in eight
 * vector accumulators while the packed steps stream past: per step two vector loads, four
 * broadcast weights, eight FMAs, and no range check in the loop (its indexes are linear in the
 * loop counter, which C2 can hoist checks for; a table of offsets it cannot). C2 keeps vector
 * accumulators in registers only within one flat loop, so each kernel is a single loop over
 * the reduction.
 *
 * <p>Long reductions (resnet18's layer3/4: 2304-4608 steps) go in blocks of about 256 steps,
 * so a packed block stays in L1 and a chunk of output channels' weights of that block in L2;
 * a register tile then starts from the partial sums the block before stored. Small planes
 * (7x7) gather their tiles across images, so all lanes carry output pixels.
 *
 * <p>Each output is the bias followed by one sequential FMA chain over (input channel, kernel
 * row, kernel column), blocked or not: it depends on nothing but its own image, so batching
 * and threading cannot change a result ({@code ConvChainOrderTest} checks it bit for bit). Loaded only when the jdk.incubator.vector module is present;
 * {@link Conv} falls back to im2col + BLAS and a scalar depthwise loop.
 */
final class DirectConv {
  /** The kernels' vectors: 8 or 16 lanes ({@link VectorWidth}); a tile is two of them. */
  private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
  /** Lanes per vector. */
  private static final int V = S.length();
  /** Output pixels per tile: two vectors (16 pixels at 256 bits, 32 at 512). */
  static final int TILE = 2 * V;
  /** Register blocks of {@link #MR} channels whose weights share one record of TILE floats per step (see {@link #pack}). */
  private static final int PER_RECORD = TILE / 4;
  /** Output channels per register tile, at most. */
  static final int MR = 4;

  private DirectConv() {}

  /** Per-thread scratch, grown and never shrunk, so steady-state inference allocates little. */
  private static final class Scratch {
    float[] in = new float[0];
    float[] wk = new float[0];
    float[] y = new float[0];
    float[] tailIn = new float[0];
    /** Depthwise input planes of all channels, and the geometry their zero padding is for. */
    float[] dwIn = new float[0];
    int[] dwKey;
    /** One tile of outputs of all output channels: mg rows of TILE. */
    float[] tailOut = new float[0];
    /** One packed tile of the reduction: kLen x TILE floats. */
    float[] bt = new float[0];
    /** Where each lane of a tile across images reads its pixel in the prepared inputs. */
    int[] lanes = new int[0];

    static float[] grow(float[] a, long n) {
      if (a.length >= n) return a;
      if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("conv workspace of " + n + " floats");
      return new float[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 8, a.length + (long) a.length / 2))];
    }
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /**
   * Where one image's input lives after {@link #prepare}: stride-phase planes of hq x wq per
   * input channel, and the offset of every reduction step (channel, tap) into them.
   */
  static final class Layout {
    final int h, wd, pt, pl, sh, sw, hq, wq, nph, planeStride, oh, ow;
    /** Stride phase (row phase * sw + column phase) to plane slot, -1 if no tap reads it. */
    final int[] slot;
    final boolean padded;
    /** The right padding is the next row's left padding (rows of wd + pl, not wd + pl + pr). */
    final boolean shareRight;
    /** 1x1, stride 1, no padding: the input planes are read where they lie. */
    final boolean inPlace;
    /** Output pixels computed per plane (oh rows of wq), and rounded up to whole tiles. */
    final int len, lenPad;
    /** Input offset of each reduction step (ci, ki, kj) relative to the output pixel. */
    final int[] off;
    /** Floats of prepared input, including what the last tile reads past the planes. */
    final int inLen;
    /**
     * Rows without side padding ({@link #masked(ConvShape)}): wq = wd, so the output plane is
     * computed in place, and the taps that would read a side pad read the neighbouring row's
     * edge instead, zeroed in the packed tile by {@link #colMask}. Null for the padded layout.
     */
    final int[] colMask;
    /**
     * Floats per sub-plane of the split sideless layout ({@link #split(ConvShape)}), 0 for
     * the others: each channel's plane three times, for the kj = 0, 1 and 2 taps.
     */
    final int split;

    /**
     * A 3x3, stride-1, undilated conv with one pixel of padding on every side, as rows of wd
     * (no side padding) between a zero row above and below, each plane with one guard float
     * before and after: tap (ki, kj) of output pixel q reads plane[q + ki * wd + kj], which is
     * the padded input's value except in the first column for kj = 0 and the last for kj = 2,
     * where it is the next or previous row's edge; {@link #packTile3} zeroes those lanes
     * ({@link #colMask}), so every packed step holds what the padded layout would: the same
     * FMA chains, bit for bit, with no discarded columns and no copy of the output out of a
     * wider plane. Null when the conv is not of that kind.
     */
    static Layout masked(ConvShape s) {
      return fits(s) ? new Layout(s, MASKED) : null;
    }

    /**
     * The sideless rows of {@link #masked} for a depthwise conv that reads its input where it
     * lies (no packed tile to mask): each channel's plane three times, the copy the kj = 0 taps
     * read with its last column zeroed (a first-column pixel's left neighbour is the previous
     * row's last value), the kj = 2 one with its first column zeroed, the kj = 1 one as it is.
     * Every tap then reads the value the padded layout holds, with no mask in the kernel's loop
     * (masking there doubled its vector code and C2 left part of it unintrinsified). Null when
     * the conv is not a 3x3, stride-1, pad-1 one.
     */
    static Layout split(ConvShape s) {
      return fits(s) ? new Layout(s, SPLIT) : null;
    }

    private static boolean fits(ConvShape s) {
      ConvGeometry geo = s.geometry();
      int[] pads = s.pads();
      return geo.kh == 3 && geo.kw == 3 && geo.sh == 1 && geo.sw == 1 && geo.dh == 1 && geo.dw == 1
          && pads[0] == 1 && pads[1] == 1 && pads[2] == 1 && pads[3] == 1;
    }

    private static final int PADDED = 0, MASKED = 1, SPLIT = 2;

    Layout(ConvShape s) {
      this(s, PADDED);
    }

    private Layout(ConvShape s, int kind) {
      final boolean sideless = kind != PADDED;
      final int cg = s.groupChannels();
      final ConvGeometry geo = s.geometry();
      final int[] pads = s.pads();
      this.h = s.height();
      this.wd = s.width();
      this.oh = s.outHeight();
      this.ow = s.outWidth();
      pt = pads[0];
      pl = pads[1];
      sh = geo.sh;
      sw = geo.sw;
      int hp = h + pads[0] + pads[2];
      int wp = wd + pads[1] + pads[3];
      padded = pads[0] != 0 || pads[1] != 0 || pads[2] != 0 || pads[3] != 0;
      inPlace = !padded && sh == 1 && sw == 1 && geo.kh == 1 && geo.kw == 1;
      hq = (hp + sh - 1) / sh;
      // at stride 1 a row's right padding can be the next row's left padding: taps past the
      // row's end read it (and the last row reads pr zeros past the plane)
      shareRight = !sideless && sw == 1 && pads[3] <= pads[1] && pads[3] > 0;
      wq = sideless ? wd : shareRight ? wd + pads[1] : (wp + sw - 1) / sw;
      slot = new int[sh * sw];
      Arrays.fill(slot, -1);
      int n = 0;
      for (int ki = 0; ki < geo.kh; ki++) {
        for (int kj = 0; kj < geo.kw; kj++) {
          int ph = ((ki * geo.dh) % sh) * sw + (kj * geo.dw) % sw;
          if (slot[ph] < 0) slot[ph] = n++;
        }
      }
      nph = n;
      // sideless: a guard float before and after the hq rows (the first pixel's kj = 0 tap and
      // the last one's kj = 2 tap read them, masked)
      int sub = hq * wq + 2;
      split = kind == SPLIT ? sub : 0;
      planeStride = kind == SPLIT ? 3 * sub : sideless ? sub : hq * wq + (shareRight ? pads[3] : 0);
      len = oh * wq;
      lenPad = (len + TILE - 1) / TILE * TILE;
      off = new int[cg * geo.kh * geo.kw];
      int k = 0, maxOff = 0;
      for (int ci = 0; ci < cg; ci++) {
        for (int ki = 0; ki < geo.kh; ki++) {
          for (int kj = 0; kj < geo.kw; kj++) {
            int ph = slot[((ki * geo.dh) % sh) * sw + (kj * geo.dw) % sw];
            off[k] = (ci * nph + ph) * planeStride + (ki * geo.dh / sh) * wq + kj * geo.dw / sw + kj * split;
            maxOff = Math.max(maxOff, off[k++]);
          }
        }
      }
      inLen = inPlace ? 0 : Math.max(cg * nph * planeStride, lenPad + maxOff);
      colMask = kind == MASKED ? columnMasks(lenPad, wd) : null;
    }

    /**
     * Per tile of the sideless layout, four vectors of int lanes: the tile's two vectors' lanes
     * that a kj = 0 tap may read (0 where the output pixel is in the first column, else -1),
     * then those a kj = 2 tap may read (0 in the last column); ANDed into the packed floats.
     */
    private static int[] columnMasks(int lenPad, int wd) {
      int[] m = new int[lenPad / TILE * 4 * V];
      for (int t = 0; t < lenPad / TILE; t++) {
        for (int u = 0; u < TILE; u++) {
          int col = (t * TILE + u) % wd;
          m[t * 4 * V + u] = col == 0 ? 0 : -1;
          m[t * 4 * V + TILE + u] = col == wd - 1 ? 0 : -1;
        }
      }
      return m;
    }

    /** Output written straight into the NCHW plane: no column of a row is thrown away. */
    boolean direct() {
      return wq == ow;
    }
  }

  /**
   * One conv call's weights as the register tiles take them ({@link #pack}: wk, cut into
   * register blocks of output channels starting at firstChannel), the reduction of kLen steps in
   * blocks of kc, chunk register blocks of output channels per L2 chunk, the bias, and the clamp
   * of the fused activation (null: none, or not a clamp).
   */
  private record Packed(float[] wk, int[] blocks, int[] firstChannel, int kLen, int kc, int chunk, float[] bias,
      float[] lim) {
    /** Records of {@link #PER_RECORD} register blocks in wk. */
    int records() {
      return (blocks.length + PER_RECORD - 1) / PER_RECORD;
    }

    /**
     * The reduction blocks as the kernels meet them, with their packed input steps in {@code in}:
     * block k0's first step at in[stride * k0] (stride 0: a packed tile holding one block's
     * steps; TILE: a tile holding all steps).
     */
    Block[] reduction(float[] in, int stride) {
      Block[] r = new Block[(kLen + kc - 1) / kc];
      for (int k0 = 0, i = 0; k0 < kLen; k0 += kc, i++) {
        int k1 = Math.min(kLen, k0 + kc);
        r[i] = new Block(in, stride * k0, k1 - k0, wk, bias, k0 == 0, k1 == kLen ? lim : null);
      }
      return r;
    }
  }

  /**
   * What every register tile of one reduction block shares: steps packed TILE floats apart from
   * packed[from] on, the packed weights, the bias, whether each output's FMA chain starts here
   * (from the bias) or goes on from its stored partial sum, and the clamp bounds if the chain
   * ends here (null otherwise). Made once per conv call, not per tile.
   */
  private record Block(float[] packed, int from, int steps, float[] weights, float[] bias, boolean first, float[] lim) {}

  static void run(float[] x, float[] w, float[] bias, float[] out, ConvShape shape, Activation act) {
    final int n = shape.batch(), c = shape.channels(), h = shape.height(), wd = shape.width();
    final int m = shape.outChannels(), g = shape.groups(), oh = shape.outHeight(), ow = shape.outWidth();
    final int cg = shape.groupChannels(), mg = shape.groupOutChannels();
    final ConvGeometry geo = shape.geometry();
    int taps = geo.kh * geo.kw;
    int kLen = cg * taps;
    int[] blocks = blocks(mg);
    int[] firstChannel = new int[blocks.length + 1];
    for (int i = 0; i < blocks.length; i++) firstChannel[i + 1] = firstChannel[i] + blocks[i];
    int kc = reductionBlock(kLen, taps);
    int chunk = chunkBlocks(kc);
    boolean tap3 = geo.kh == 3 && geo.kw == 3 && geo.sh == 1 && geo.sw == 1 && geo.dh == 1 && geo.dw == 1;
    Layout lay = new Layout(shape);
    boolean across = acrossImages(lay, n, mg);
    Layout sideless = across ? null : Layout.masked(shape);
    if (sideless != null) lay = sideless;
    Scratch s = SCRATCH.get();
    float[] in = s.in = Scratch.grow(s.in, lay.inLen);
    int records = (blocks.length + PER_RECORD - 1) / PER_RECORD;
    float[] wk = s.wk = Scratch.grow(s.wk, (long) records * kLen * TILE);
    boolean direct = lay.direct();
    float[] y = direct ? null : (s.y = Scratch.grow(s.y, (long) mg * lay.lenPad + TILE));
    float[] b = bias != null ? bias : new float[m];
    float[] lim = limits(act);
    boolean scalarAct = act != null && lim == null;
    Packed pw = new Packed(wk, blocks, firstChannel, kLen, kc, chunk, b, lim);
    int len = lay.len;
    int p = oh * ow;
    int fullTiles = len / TILE;
    boolean tail = len % TILE != 0;
    // direct: whole tiles straight into the output and a last part tile into tailOut; otherwise
    // every tile into y, copied out row by row
    int tiles = direct ? fullTiles + (tail && !lay.inPlace ? 1 : 0) : lay.lenPad / TILE;
    float[] bt = s.bt = Scratch.grow(s.bt, (long) kc * TILE);
    if (lay.inPlace && tail) s.tailIn = Scratch.grow(s.tailIn, (long) cg * TILE);
    float[] tailOut = s.tailOut = Scratch.grow(s.tailOut, (long) Math.max(mg, MR) * TILE);
    Block[] red = pw.reduction(bt, 0);
    Block[] tailRed = lay.inPlace && tail ? pw.reduction(s.tailIn, TILE) : null;
    for (int gi = 0; gi < g; gi++) {
      pack(w, gi * mg, blocks, kLen, kc, wk);
      if (across) {
        runAcrossImages(x, out, shape, gi, lay, pw, red, act);
        continue;
      }
      for (int ni = 0; ni < n; ni++) {
        int xBase = (ni * c + gi * cg) * h * wd;
        float[] xs;
        int xq;
        if (lay.inPlace) {
          xs = x;
          xq = xBase;
        } else {
          prepare(x, xBase, cg, lay, in, 0);
          xs = in;
          xq = 0;
        }
        int oBase = (ni * m + gi * mg) * p;
        // output channels in chunks and the reduction in blocks, so that a chunk's weights of
        // one block stay in L2 while every tile passes, and a tile's packed block in L1 while
        // every register block of the chunk passes; each output's FMA chain starts from the
        // bias and goes on from its stored partial sum, in the same order whatever the blocking
        for (int c0 = 0; c0 < blocks.length; c0 += chunk) {
          int c1 = Math.min(blocks.length, c0 + chunk);
          for (int k0 = 0; k0 < kLen; k0 += kc) {
            int k1 = Math.min(kLen, k0 + kc);
            Block blk = red[k0 / kc];
            for (int t = 0; t < tiles; t++) {
              int q0 = t * TILE;
              if (lay.colMask != null) {
                packTile3Masked(xs, xq + q0 + k0 / 9 * lay.planeStride, lay, t, (k1 - k0) / 9, bt);
              } else if (tap3) {
                packTile3(xs, xq + q0 + k0 / 9 * lay.planeStride, lay.planeStride, lay.wq, (k1 - k0) / 9, bt);
              } else {
                packTile(xs, xq + q0, lay.off, k0, k1, bt);
              }
              float[] dst;
              int d, ld;
              if (!direct) {
                dst = y;
                d = q0;
                ld = lay.lenPad;
              } else if (t < fullTiles) {
                dst = out;
                d = oBase + q0;
                ld = p;
              } else {
                dst = tailOut;
                d = 0;
                ld = TILE;
              }
              for (int bi = c0; bi < c1; bi++) {
                int oc = firstChannel[bi];
                kernel(blocks[bi], blk, wOff(bi, k0, k1 - k0, records), gi * mg + oc, dst, d + oc * ld, ld);
              }
            }
          }
        }
        if (direct && tail && !lay.inPlace) {
          int q0 = fullTiles * TILE;
          for (int i = 0; i < mg; i++) System.arraycopy(tailOut, i * TILE, out, oBase + i * p + q0, len - q0);
        }
        if (!direct) {
          for (int i = 0; i < mg; i++) copyOut(y, i * lay.lenPad, lay.wq, out, oBase + i * p, oh, ow);
        }
        if (scalarAct && !(lay.inPlace && tail)) act.apply(out, oBase, oBase + mg * p);
      }
      if (lay.inPlace && tail) {
        inPlaceTails(x, out, shape, gi, fullTiles * TILE, pw, tailRed);
        if (scalarAct) {
          for (int ni = 0; ni < n; ni++) act.apply(out, (ni * m + gi * mg) * p, (ni * m + gi * mg) * p + mg * p);
        }
      }
    }
  }

  /** Images whose tiles are packed together at most: bounds the prepared inputs and partial sums held at once. */
  static final int IMAGES_PER_PASS = 16;

  /**
   * Whether tiles are gathered across images: a plane computed per image as rows of wq pixels
   * wastes lanes on small planes (a 7x7 output fills 49 of 64), and its few tiles reuse a
   * chunk's weights only a few times. A gathered tile fills every lane at the cost of 16 scalar
   * loads per reduction step, which enough output channels (128) amortize. Measured on resnet18: 3x3
   * convs on 7x7 planes went from 0.75-0.89x to 1.02-1.05x of im2col + OpenBLAS; on 14x14 planes
   * (196 of 224 lanes) the partial sums and inputs of several images no longer fit L2 and
   * gathering lost more than it gained; with 64 output channels (resnet_s's 7x7 convs) the
   * gather was not amortized (1.2-1.5x of BLAS against 1.4-1.7x per image), and the stride-2
   * conv into 7x7 (four phase planes to gather from) did not gain (0.62-0.86x against 0.76-0.79x).
   */
  static boolean acrossImages(Layout lay, int n, int mg) {
    return !lay.inPlace && lay.sh == 1 && lay.sw == 1 && n > 1 && mg >= 128 && (long) lay.oh * lay.ow * 5 < (long) lay.lenPad * 4;
  }

  /**
   * Group gi of all images with tiles of 16 output pixels taken in order across up to
   * {@link #IMAGES_PER_PASS} images: every lane reads its own image's prepared input, so each
   * output's FMA chain is the one {@link #run} computes per image, whichever images share its
   * tile. Partial sums of the pass wait in y (mg rows of all pixels), then go to the output planes.
   */
  private static void runAcrossImages(float[] x, float[] out, ConvShape shape, int gi, Layout lay, Packed pw, Block[] red,
      Activation act) {
    final int n = shape.batch(), c = shape.channels(), h = shape.height(), wd = shape.width(), m = shape.outChannels();
    final int cg = shape.groupChannels(), mg = shape.groupOutChannels();
    final int[] blocks = pw.blocks(), firstChannel = pw.firstChannel();
    final int kLen = pw.kLen(), kc = pw.kc(), chunk = pw.chunk(), records = pw.records();
    final float[] lim = pw.lim();
    final Scratch s = SCRATCH.get();
    int p = lay.oh * lay.ow;
    int imgLen = lay.inLen;
    float[] bt = s.bt;
    for (int n0 = 0; n0 < n; n0 += IMAGES_PER_PASS) {
      int cnt = Math.min(IMAGES_PER_PASS, n - n0);
      float[] in = s.in = Scratch.grow(s.in, (long) cnt * imgLen);
      for (int j = 0; j < cnt; j++) prepare(x, ((n0 + j) * c + gi * cg) * h * wd, cg, lay, in, j * imgLen);
      int pixels = cnt * p;
      int tiles = (pixels + TILE - 1) / TILE;
      int ld = tiles * TILE;
      if (s.lanes.length < ld) s.lanes = new int[ld];
      int[] lanes = s.lanes;
      for (int u = 0; u < ld; u++) {
        int v = u < pixels ? u : 0; // lanes past the last pixel compute pixel 0 again, for nothing
        int q = v % p;
        lanes[u] = v / p * imgLen + q / lay.ow * lay.wq + q % lay.ow;
      }
      float[] y = s.y = Scratch.grow(s.y, (long) mg * ld);
      for (int c0 = 0; c0 < blocks.length; c0 += chunk) {
        int c1 = Math.min(blocks.length, c0 + chunk);
        for (int k0 = 0; k0 < kLen; k0 += kc) {
          int k1 = Math.min(kLen, k0 + kc);
          Block blk = red[k0 / kc];
          for (int t = 0; t < tiles; t++) {
            gatherTile(in, lanes, t * TILE, lay.off, k0, k1, bt);
            for (int bi = c0; bi < c1; bi++) {
              int oc = firstChannel[bi];
              kernel(blocks[bi], blk, wOff(bi, k0, k1 - k0, records), gi * mg + oc, y, oc * ld + t * TILE, ld);
            }
          }
        }
      }
      for (int j = 0; j < cnt; j++) {
        int o = ((n0 + j) * m + gi * mg) * p;
        for (int i = 0; i < mg; i++) System.arraycopy(y, i * ld + j * p, out, o + i * p, p);
        if (act != null && lim == null) act.apply(out, o, o + mg * p);
      }
    }
  }

  /** Steps [k0, k1) of the TILE pixels lanes[u0 ..] point at, into bt[TILE * (k - k0) ..], as {@link #packTile} packs. */
  private static void gatherTile(float[] x, int[] lanes, int u0, int[] off, int k0, int k1, float[] bt) {
    for (int k = k0, d = 0; k < k1; k++, d += TILE) {
      int o = off[k];
      for (int i = 0; i < TILE; i++) bt[d + i] = x[lanes[u0 + i] + o];
    }
  }

  /**
   * {@link #packTile} for a 3x3 stride-1 undilated kernel (off[k] = ci * ps + ki * wq + kj):
   * the six loads of a kernel row share one base, so C2 merges their range checks.
   */
  private static void packTile3(float[] x, int xq, int ps, int wq, int cg, float[] bt) {
    for (int ci = 0, d = 0; ci < cg; ci++, d += 9 * TILE) {
      int r0 = xq + ci * ps, r1 = r0 + wq, r2 = r1 + wq;
      FloatVector.fromArray(S, x, r0).intoArray(bt, d);
      FloatVector.fromArray(S, x, r0 + V).intoArray(bt, d + V);
      FloatVector.fromArray(S, x, r0 + 1).intoArray(bt, d + TILE);
      FloatVector.fromArray(S, x, r0 + 1 + V).intoArray(bt, d + TILE + V);
      FloatVector.fromArray(S, x, r0 + 2).intoArray(bt, d + 2 * TILE);
      FloatVector.fromArray(S, x, r0 + 2 + V).intoArray(bt, d + 2 * TILE + V);
      FloatVector.fromArray(S, x, r1).intoArray(bt, d + 3 * TILE);
      FloatVector.fromArray(S, x, r1 + V).intoArray(bt, d + 3 * TILE + V);
      FloatVector.fromArray(S, x, r1 + 1).intoArray(bt, d + 4 * TILE);
      FloatVector.fromArray(S, x, r1 + 1 + V).intoArray(bt, d + 4 * TILE + V);
      FloatVector.fromArray(S, x, r1 + 2).intoArray(bt, d + 5 * TILE);
      FloatVector.fromArray(S, x, r1 + 2 + V).intoArray(bt, d + 5 * TILE + V);
      FloatVector.fromArray(S, x, r2).intoArray(bt, d + 6 * TILE);
      FloatVector.fromArray(S, x, r2 + V).intoArray(bt, d + 6 * TILE + V);
      FloatVector.fromArray(S, x, r2 + 1).intoArray(bt, d + 7 * TILE);
      FloatVector.fromArray(S, x, r2 + 1 + V).intoArray(bt, d + 7 * TILE + V);
      FloatVector.fromArray(S, x, r2 + 2).intoArray(bt, d + 8 * TILE);
      FloatVector.fromArray(S, x, r2 + 2 + V).intoArray(bt, d + 8 * TILE + V);
    }
  }

  /**
   * {@link #packTile3} on the sideless layout ({@link Layout#masked}): the kj = 0 and kj = 2
   * taps ANDed with tile t's column masks, so the lanes of first- and last-column pixels hold
   * the zero the side padding would have given (+0.0f exactly, as the padding).
   */
  private static void packTile3Masked(float[] x, int xq, Layout lay, int t, int cg, float[] bt) {
    final int ps = lay.planeStride, wq = lay.wq, mo = t * 4 * V;
    final int[] cm = lay.colMask;
    IntVector l0 = IntVector.fromArray(VectorWidth.INTS, cm, mo), l1 = IntVector.fromArray(VectorWidth.INTS, cm, mo + V);
    IntVector r0m = IntVector.fromArray(VectorWidth.INTS, cm, mo + TILE);
    IntVector r1m = IntVector.fromArray(VectorWidth.INTS, cm, mo + TILE + V);
    for (int ci = 0, d = 0; ci < cg; ci++, d += 9 * TILE) {
      int r0 = xq + ci * ps, r1 = r0 + wq, r2 = r1 + wq;
      FloatVector.fromArray(S, x, r0).reinterpretAsInts().and(l0).reinterpretAsFloats().intoArray(bt, d);
      FloatVector.fromArray(S, x, r0 + V).reinterpretAsInts().and(l1).reinterpretAsFloats().intoArray(bt, d + V);
      FloatVector.fromArray(S, x, r0 + 1).intoArray(bt, d + TILE);
      FloatVector.fromArray(S, x, r0 + 1 + V).intoArray(bt, d + TILE + V);
      FloatVector.fromArray(S, x, r0 + 2).reinterpretAsInts().and(r0m).reinterpretAsFloats().intoArray(bt, d + 2 * TILE);
      FloatVector.fromArray(S, x, r0 + 2 + V).reinterpretAsInts().and(r1m).reinterpretAsFloats().intoArray(bt, d + 2 * TILE + V);
      FloatVector.fromArray(S, x, r1).reinterpretAsInts().and(l0).reinterpretAsFloats().intoArray(bt, d + 3 * TILE);
      FloatVector.fromArray(S, x, r1 + V).reinterpretAsInts().and(l1).reinterpretAsFloats().intoArray(bt, d + 3 * TILE + V);
      FloatVector.fromArray(S, x, r1 + 1).intoArray(bt, d + 4 * TILE);
      FloatVector.fromArray(S, x, r1 + 1 + V).intoArray(bt, d + 4 * TILE + V);
      FloatVector.fromArray(S, x, r1 + 2).reinterpretAsInts().and(r0m).reinterpretAsFloats().intoArray(bt, d + 5 * TILE);
      FloatVector.fromArray(S, x, r1 + 2 + V).reinterpretAsInts().and(r1m).reinterpretAsFloats().intoArray(bt, d + 5 * TILE + V);
      FloatVector.fromArray(S, x, r2).reinterpretAsInts().and(l0).reinterpretAsFloats().intoArray(bt, d + 6 * TILE);
      FloatVector.fromArray(S, x, r2 + V).reinterpretAsInts().and(l1).reinterpretAsFloats().intoArray(bt, d + 6 * TILE + V);
      FloatVector.fromArray(S, x, r2 + 1).intoArray(bt, d + 7 * TILE);
      FloatVector.fromArray(S, x, r2 + 1 + V).intoArray(bt, d + 7 * TILE + V);
      FloatVector.fromArray(S, x, r2 + 2).reinterpretAsInts().and(r0m).reinterpretAsFloats().intoArray(bt, d + 8 * TILE);
      FloatVector.fromArray(S, x, r2 + 2 + V).reinterpretAsInts().and(r1m).reinterpretAsFloats().intoArray(bt, d + 8 * TILE + V);
    }
  }


  /**
   * Steps [k0, k1) of one tile of the reduction made contiguous: the TILE input pixels under
   * reduction step k (x[xq + off[k] ..]) into bt[TILE * (k - k0) ..]. The kernels then read it at offsets linear in k,
   * whose range checks C2 hoists out of the loop, and from L1.
   */
  private static void packTile(float[] x, int xq, int[] off, int k0, int k1, float[] bt) {
    for (int k = k0, d = 0; k < k1; k++, d += TILE) {
      int xi = xq + off[k];
      FloatVector.fromArray(S, x, xi).intoArray(bt, d);
      FloatVector.fromArray(S, x, xi + V).intoArray(bt, d + V);
    }
  }

  /**
   * The pixels past the last whole tile of an in-place GEMM (1x1 conv), for all images of
   * group gi: the t leftover pixels of TILE / t images are gathered into one tile (channel ci's at
   * tailIn[ci * TILE + image * t + u]), so a 49-pixel plane costs 3 1/16 tiles of 16 rather than 4.
   * Every lane is the same computation as in a whole tile: which images share a tail tile does
   * not change any result.
   */
  private static void inPlaceTails(float[] x, float[] out, ConvShape shape, int gi, int q0, Packed pw, Block[] red) {
    final int n = shape.batch(), c = shape.channels(), m = shape.outChannels();
    final int cg = shape.groupChannels(), mg = shape.groupOutChannels(), p = shape.outHeight() * shape.outWidth();
    final int[] blocks = pw.blocks(), firstChannel = pw.firstChannel();
    final int kc = pw.kc(), records = pw.records();
    final Scratch s = SCRATCH.get();
    int t = p - q0;
    int per = TILE / t;
    float[] ti = s.tailIn;
    float[] to = s.tailOut;
    for (int n0 = 0; n0 < n; n0 += per) {
      int cnt = Math.min(per, n - n0);
      Arrays.fill(ti, 0, cg * TILE, 0f);
      for (int j = 0; j < cnt; j++) {
        int src = ((n0 + j) * c + gi * cg) * p + q0;
        for (int ci = 0; ci < cg; ci++) {
          int d = ci * TILE + j * t, sc = src + ci * p;
          for (int u = 0; u < t; u++) ti[d + u] = x[sc + u];
        }
      }
      for (int k0 = 0; k0 < cg; k0 += kc) {
        int k1 = Math.min(cg, k0 + kc);
        for (int bi = 0; bi < blocks.length; bi++) {
          int oc = firstChannel[bi];
          kernel(blocks[bi], red[k0 / kc], wOff(bi, k0, k1 - k0, records), gi * mg + oc, to, oc * TILE, TILE);
        }
      }
      for (int j = 0; j < cnt; j++) {
        int dst = ((n0 + j) * m + gi * mg) * p + q0;
        for (int i = 0; i < mg; i++) {
          for (int u = 0; u < t; u++) out[dst + i * p + u] = to[i * TILE + j * t + u];
        }
      }
    }
  }

  /**
   * Depthwise conv (one input channel per group, one output channel per group). 3x3 kernels,
   * any stride, dilation and padding, have a kernel of their own: the nine weights stay in
   * registers and each 8-pixel vector of an output row is written straight into the output
   * (lanes past the row's end spill into the next row or plane, which is written after it).
   * The padded input planes of all channels are kept per thread with their zero border, so an
   * image only copies its interior. Other kernel sizes go through {@link #run}.
   */
  static void depthwise(float[] x, float[] w, float[] bias, float[] out, ConvShape shape, Activation act) {
    final ConvGeometry geo = shape.geometry();
    if (geo.kh != 3 || geo.kw != 3) {
      run(x, w, bias, out, shape, act);
      return;
    }
    final int n = shape.batch(), c = shape.channels(), h = shape.height(), wd = shape.width();
    final int oh = shape.outHeight(), ow = shape.outWidth();
    final int[] pads = shape.pads();
    Layout sideless = Layout.split(shape);
    Layout lay = sideless != null ? sideless : new Layout(shape);
    int planeLen = lay.nph * lay.planeStride;
    int maxOff = 0;
    for (int o : lay.off) maxOff = Math.max(maxOff, o);
    long need = (long) (c - 1) * planeLen + Math.max(planeLen, (long) lay.lenPad + maxOff);
    Scratch s = SCRATCH.get();
    int[] key = {c, h, wd, pads[0], pads[1], pads[2], pads[3], geo.sh, geo.sw, geo.dh, geo.dw};
    if (s.dwIn.length < need || !Arrays.equals(key, s.dwKey)) {
      // a new geometry: the pads (and whatever lies between planes) become zero once
      s.dwIn = Scratch.grow(s.dwIn, need);
      Arrays.fill(s.dwIn, 0f);
      s.dwKey = key;
    }
    float[] in = s.dwIn;
    float[] y = s.y = Scratch.grow(s.y, lay.lenPad + TILE);
    float[] lim = limits(act);
    int p = oh * ow;
    for (int ni = 0; ni < n; ni++) {
      copyInterior(x, ni * c * h * wd, c, lay, planeLen, in, 0);
      if (sideless != null) {
        // rows of ow: the first p outputs are the plane as it lies
        for (int ch = 0; ch < c; ch++) {
          dw3(in, ch * planeLen, lay, w, bias, ch, y, lim);
          System.arraycopy(y, 0, out, (ni * c + ch) * p, p);
        }
        continue;
      }
      for (int ch = 0; ch < c; ch++) {
        dw3(in, ch * planeLen, lay, w, bias, ch, y, lim);
        copyOut(y, 0, lay.wq, out, (ni * c + ch) * p, oh, ow);
      }
    }
    if (act != null && lim == null) act.apply(out, 0, out.length);
  }

  /**
   * Packed weights of one reduction block that a chunk of output channels may take: they should
   * stay in L2 (512 KiB per core on this Zen 3, beside the prepared input and the partial sums)
   * while every tile of an image passes. Without chunks resnet18's 512-channel 3x3 convs
   * streamed every weight from L3 for each 16-pixel tile and ran at half the speed of im2col +
   * OpenBLAS.
   */
  static final int CHUNK_BYTES = 256 << 10;

  /** Blocks per output-channel chunk: whole records of {@link #PER_RECORD} blocks (see {@link #pack}), at least one. */
  static int chunkBlocks(int steps) {
    long record = (long) steps * TILE * Float.BYTES;
    return PER_RECORD * (int) Math.max(1, CHUNK_BYTES / record);
  }

  /**
   * Reduction steps per packed block (whole input channels): the packed block (16 floats per
   * step) and the weight record it meets (16 per step) should share the 32 KiB L1. Without
   * blocks, layer3/4 of resnet18 (kLen 2304-4608) streamed a packed tile of up to 295 KB from L2
   * for every register block.
   */
  static final int REDUCTION_STEPS = 256;

  /** Steps per reduction block: all of them up to {@link #REDUCTION_STEPS}, else whole channels in even blocks. */
  static int reductionBlock(int kLen, int taps) {
    if (kLen <= REDUCTION_STEPS) return kLen;
    int cg = kLen / taps;
    int per = Math.max(1, REDUCTION_STEPS / taps);
    int nb = (cg + per - 1) / per;
    return (cg + nb - 1) / nb * taps;
  }

  /**
   * How mg output channels are cut into register tiles: as few as possible, of up to {@link #MR}
   * channels, as even as possible. C2 unrolls the kernel loops (their range checks are hoisted),
   * and with five or six channels (ten or twelve accumulators) the unrolled loop no longer fits
   * the sixteen vector registers and spills: measured, 4 is fastest.
   */
  static int[] blocks(int mg) {
    int nb = (mg + MR - 1) / MR;
    int[] r = new int[nb];
    for (int i = 0; i < nb; i++) r[i] = mg / nb + (i < mg % nb ? 1 : 0);
    return r;
  }

  /**
   * Weights of output channels [m0, m0 + mg) in blocks as {@link #blocks} cuts them (at most 4
   * channels each), {@link #PER_RECORD} blocks to a record of TILE floats per reduction step, by
   * reduction block of kc steps: channel i of block bi, step k0 + k of the block starting at k0,
   * is at wk[wOff(bi, k0, steps, records) + TILE * k + i]. Steps then lie as far apart as in a packed
   * input tile and one counter indexes both, and one reduction block's weights of consecutive
   * blocks are contiguous (no cache-set aliasing between records kLen x 64 bytes apart).
   */
  private static void pack(float[] w, int m0, int[] blocks, int kLen, int kc, float[] wk) {
    int records = (blocks.length + PER_RECORD - 1) / PER_RECORD;
    for (int k0 = 0; k0 < kLen; k0 += kc) {
      int steps = Math.min(kc, kLen - k0);
      int oc0 = 0;
      for (int bi = 0; bi < blocks.length; bi++) {
        int r = blocks[bi];
        int base = wOff(bi, k0, steps, records);
        for (int i = 0; i < r; i++) {
          int src = (m0 + oc0 + i) * kLen + k0;
          for (int k = 0; k < steps; k++) wk[base + TILE * k + i] = w[src + k];
        }
        oc0 += r;
      }
    }
  }

  /**
   * Where block bi's weights of the reduction block starting at step k0 (of {@code steps}
   * steps) start in {@link #pack}'s layout: reduction blocks one after the other, each holding
   * all records' steps of that block.
   */
  private static int wOff(int bi, int k0, int steps, int records) {
    return (k0 * records + bi / PER_RECORD * steps) * TILE + bi % PER_RECORD * MR;
  }

  /** The fused activation as clamp bounds {lo, hi} applied in registers, or null (none, or not a clamp). */
  private static float[] limits(Activation act) {
    if (act == null) return null;
    if (act.kind() == Activation.Kind.RELU) return new float[] {0f, Float.POSITIVE_INFINITY};
    if (act.kind() == Activation.Kind.CLIP) return new float[] {act.lo(), act.hi()};
    return null;
  }

  /**
   * One image's cg input channels into stride-phase planes of hq x wq with the padding as
   * zeros, from in[o] on. Stride 1 zeroes only the border; other strides zero everything first.
   */
  static void prepare(float[] x, int xBase, int cg, Layout l, float[] in, int o) {
    int wq = l.wq, ps = l.planeStride;
    if (l.colMask != null) {
      // sideless: guard, zero row, the h rows as they lie in x, zero row, guard
      int plane = l.h * l.wd;
      for (int ci = 0; ci < cg; ci++) {
        int pb = o + ci * ps;
        Arrays.fill(in, pb, pb + 1 + wq, 0f);
        System.arraycopy(x, xBase + ci * plane, in, pb + 1 + wq, plane);
        Arrays.fill(in, pb + 1 + wq + plane, pb + ps, 0f);
      }
      return;
    }
    if (l.sh == 1 && l.sw == 1) {
      for (int ci = 0; ci < cg; ci++) {
        int pb = o + ci * ps;
        if (l.pt > 0) Arrays.fill(in, pb, pb + l.pt * wq, 0f);
        for (int iy = 0; iy < l.h; iy++) {
          int row = pb + (iy + l.pt) * wq;
          for (int j = 0; j < l.pl; j++) in[row + j] = 0f;
          for (int j = row + l.pl + l.wd; j < row + wq; j++) in[j] = 0f;
        }
        Arrays.fill(in, pb + (l.pt + l.h) * wq, pb + ps, 0f);
      }
    } else if (l.padded) {
      Arrays.fill(in, o, o + cg * l.nph * ps, 0f);
    }
    copyInterior(x, xBase, cg, l, l.nph * ps, in, o);
  }

  /**
   * The input pixels of one image's cg channels into their places in the padded phase planes
   * (channel ci's planes start at o + ci * planeLen); the padding is left as it is.
   */
  static void copyInterior(float[] x, int xBase, int cg, Layout l, int planeLen, float[] in, int o) {
    int h = l.h, wd = l.wd, wq = l.wq, ps = l.planeStride;
    if (l.split > 0) {
      // split sideless planes: each plane's h rows three times as they lie, after the guard and
      // the zero row; the kj = 0 copy's last column and the kj = 2 copy's first column zeroed
      int plane = h * wd;
      for (int ci = 0; ci < cg; ci++) {
        int d = o + ci * planeLen + 1 + wq, src = xBase + ci * plane;
        System.arraycopy(x, src, in, d, plane);
        System.arraycopy(x, src, in, d + l.split, plane);
        System.arraycopy(x, src, in, d + 2 * l.split, plane);
        for (int r = d; r < d + plane; r += wd) {
          in[r + wd - 1] = 0f;
          in[r + 2 * l.split] = 0f;
        }
      }
      return;
    }
    if (l.colMask != null) {
      // sideless rows: each plane's h rows as they lie, after the guard and the zero row
      for (int ci = 0; ci < cg; ci++) System.arraycopy(x, xBase + ci * h * wd, in, o + ci * planeLen + 1 + wq, h * wd);
      return;
    }
    if (l.sh == 1 && l.sw == 1) {
      for (int ci = 0; ci < cg; ci++) {
        int src = xBase + ci * h * wd;
        int dst = o + ci * planeLen + l.pt * wq + l.pl;
        if (wd >= V) {
          // vectors, the last one ending at the row's end (overlapping the one before)
          for (int iy = 0; iy < h; iy++) {
            int si = src + iy * wd, di = dst + iy * wq;
            for (int j = 0; j + V < wd; j += V) FloatVector.fromArray(S, x, si + j).intoArray(in, di + j);
            FloatVector.fromArray(S, x, si + wd - V).intoArray(in, di + wd - V);
          }
        } else {
          // one vector per row, spilling V - wd values past the row's end, over later rows'
          // places only: each row's data is stored after every spill that reaches it, and the
          // wq - wd padding values after each row's data are zeroed again right after that row
          // is stored; what the last vector row spilled past the last row's data (the padding
          // below, or what follows the plane) is zeroed once the plane is done, before any later
          // plane is written. Two scalar stores a row instead of V - wd.
          int last = -1;
          for (int iy = 0; iy < h; iy++) {
            int si = src + iy * wd, di = dst + iy * wq;
            if (si + V <= x.length && di + V <= in.length) {
              FloatVector.fromArray(S, x, si).intoArray(in, di);
              last = di;
            } else {
              for (int j = 0; j < wd; j++) in[di + j] = x[si + j];
            }
            for (int j = di + wd; j < di + wq; j++) in[j] = 0f;
          }
          int end = dst + (h - 1) * wq + wd;
          if (last >= 0 && last + V > end) Arrays.fill(in, end, last + V, 0f);
        }
      }
      return;
    }
    int sh = l.sh, sw = l.sw;
    for (int ci = 0; ci < cg; ci++) {
      int src0 = xBase + ci * h * wd;
      int pb = o + ci * planeLen;
      for (int iy = 0; iy < h; iy++) {
        int r = iy + l.pt;
        int py = r % sh;
        int rowOff = pb + (r / sh) * wq;
        int src = src0 + iy * wd;
        if (sw == 2) {
          // one pass over the row: input column ix is padded column ix + pl, of phase
          // (ix + pl) & 1 at phase column (ix + pl) >> 1
          int se = l.slot[py * 2 + (l.pl & 1)], so = l.slot[py * 2 + 1 - (l.pl & 1)];
          int de = se < 0 ? -1 : rowOff + se * ps + l.pl / 2;
          int dO = so < 0 ? -1 : rowOff + so * ps + (l.pl + 1) / 2;
          int pairs = wd / 2;
          if (de >= 0 && dO >= 0) {
            for (int j = 0; j < pairs; j++) {
              in[de + j] = x[src + 2 * j];
              in[dO + j] = x[src + 2 * j + 1];
            }
          } else if (de >= 0) {
            for (int j = 0; j < pairs; j++) in[de + j] = x[src + 2 * j];
          } else if (dO >= 0) {
            for (int j = 0; j < pairs; j++) in[dO + j] = x[src + 2 * j + 1];
          }
          if ((wd & 1) != 0 && de >= 0) in[de + pairs] = x[src + wd - 1];
          continue;
        }
        for (int px = 0; px < sw; px++) {
          int sl = l.slot[py * sw + px];
          if (sl < 0) continue;
          // input columns ix with (ix + pl) % sw == px, at phase column (ix + pl) / sw
          int ix = Math.floorMod(px - l.pl, sw);
          int d0 = rowOff + sl * ps + (ix + l.pl) / sw, s0 = src + ix;
          int cnt = (wd - ix + sw - 1) / sw;
          for (int j = 0; j < cnt; j++) in[d0 + j] = x[s0 + j * sw];
        }
      }
    }
  }

  /**
   * Rows of ow pixels from a computed plane of row pitch wq into an NCHW output plane. A row
   * narrower than a vector is copied as a whole vector that spills into the next rows, which are
   * copied after it; rows whose vector would pass the plane's end are copied exactly.
   */
  static void copyOut(float[] y, int yo, int wq, float[] out, int o, int oh, int ow) {
    if (ow < V) {
      int oy = 0;
      // a spill must stay in this plane: the plane after it may hold another group's output,
      // written before (grouped convs run group by group over all images)
      int vecRows = Math.min(oh - 1, Math.max(0, Math.floorDiv(oh * ow - V, ow) + 1));
      for (; oy < vecRows; oy++) FloatVector.fromArray(S, y, yo + oy * wq).intoArray(out, o + oy * ow);
      for (; oy < oh; oy++) {
        int src = yo + oy * wq, dst = o + oy * ow;
        for (int j = 0; j < ow; j++) out[dst + j] = y[src + j];
      }
      return;
    }
    for (int oy = 0; oy < oh; oy++) {
      int src = yo + oy * wq, dst = o + oy * ow;
      int j = 0;
      for (; j + V <= ow; j += V) FloatVector.fromArray(S, y, src + j).intoArray(out, dst + j);
      // the row's last V, overlapping what was just copied
      if (j < ow) FloatVector.fromArray(S, y, src + ow - V).intoArray(out, dst + ow - V);
    }
  }

  /**
   * One register tile: r output channels (1 to 4, bias and output channel bo on) x TILE pixels
   * over the steps of one reduction block (blk: its packed steps, weights, bias and clamp),
   * starting from the bias if the block comes first, else from the partial sums stored at
   * y[yo..] by the block before, then the clamp to [lim[0], lim[1]] unless lim is null (only the
   * last block clamps). The kernels read the block's fields into locals before their loop. The
   * loop counter is the packed tile's index itself and the weights of step k are at
   * wk[TILE * k + wo + i] (see {@link #pack}), so each step costs no index arithmetic beyond one
   * add, and C2 hoists every range check. The clamp bounds are an array read after the loop: two
   * float parameters would take two of the sixteen vector registers.
   */
  private static void kernel(int r, Block blk, int wo, int bo, float[] y, int yo, int ldy) {
    switch (r) {
      case 4: k4(blk, wo - blk.from(), bo, y, yo, ldy); break;
      case 3: k3(blk, wo - blk.from(), bo, y, yo, ldy); break;
      case 2: k2(blk, wo - blk.from(), bo, y, yo, ldy); break;
      default: k1(blk, wo - blk.from(), bo, y, yo, ldy); break;
    }
  }

  /** A row's first accumulator: the bias if the chain starts here, else the partial sum stored at y[yo]. */
  private static FloatVector start(boolean first, float[] b, int bo, float[] y, int yo) {
    return first ? FloatVector.broadcast(S, b[bo]) : FloatVector.fromArray(S, y, yo);
  }

  private static void k4(Block blk, int wo, int bo, float[] y, int yo, int ldy) {
    final float[] bt = blk.packed(), wk = blk.weights(), b = blk.bias(), lim = blk.lim();
    final int bto = blk.from(), kLen = blk.steps();
    final boolean first = blk.first();
    FloatVector a00 = start(first, b, bo, y, yo);
    FloatVector a01 = first ? a00 : FloatVector.fromArray(S, y, yo + V);
    FloatVector a10 = start(first, b, bo + 1, y, yo + ldy);
    FloatVector a11 = first ? a10 : FloatVector.fromArray(S, y, yo + ldy + V);
    FloatVector a20 = start(first, b, bo + 2, y, yo + 2 * ldy);
    FloatVector a21 = first ? a20 : FloatVector.fromArray(S, y, yo + 2 * ldy + V);
    FloatVector a30 = start(first, b, bo + 3, y, yo + 3 * ldy);
    FloatVector a31 = first ? a30 : FloatVector.fromArray(S, y, yo + 3 * ldy + V);
    int end = bto + TILE * kLen;
    for (int i = bto; i < end; i += TILE) {
      FloatVector x0 = FloatVector.fromArray(S, bt, i);
      FloatVector x1 = FloatVector.fromArray(S, bt, i + V);
      int wi = i + wo;
      FloatVector v = FloatVector.broadcast(S, wk[wi]);
      a00 = x0.fma(v, a00);
      a01 = x1.fma(v, a01);
      v = FloatVector.broadcast(S, wk[wi + 1]);
      a10 = x0.fma(v, a10);
      a11 = x1.fma(v, a11);
      v = FloatVector.broadcast(S, wk[wi + 2]);
      a20 = x0.fma(v, a20);
      a21 = x1.fma(v, a21);
      v = FloatVector.broadcast(S, wk[wi + 3]);
      a30 = x0.fma(v, a30);
      a31 = x1.fma(v, a31);
    }
    if (lim != null) {
      FloatVector l = FloatVector.broadcast(S, lim[0]), u = FloatVector.broadcast(S, lim[1]);
      a00 = a00.max(l).min(u);
      a01 = a01.max(l).min(u);
      a10 = a10.max(l).min(u);
      a11 = a11.max(l).min(u);
      a20 = a20.max(l).min(u);
      a21 = a21.max(l).min(u);
      a30 = a30.max(l).min(u);
      a31 = a31.max(l).min(u);
    }
    a00.intoArray(y, yo);
    a01.intoArray(y, yo + V);
    a10.intoArray(y, yo + ldy);
    a11.intoArray(y, yo + ldy + V);
    a20.intoArray(y, yo + 2 * ldy);
    a21.intoArray(y, yo + 2 * ldy + V);
    a30.intoArray(y, yo + 3 * ldy);
    a31.intoArray(y, yo + 3 * ldy + V);
  }

  private static void k3(Block blk, int wo, int bo, float[] y, int yo, int ldy) {
    final float[] bt = blk.packed(), wk = blk.weights(), b = blk.bias(), lim = blk.lim();
    final int bto = blk.from(), kLen = blk.steps();
    final boolean first = blk.first();
    FloatVector a00 = start(first, b, bo, y, yo);
    FloatVector a01 = first ? a00 : FloatVector.fromArray(S, y, yo + V);
    FloatVector a10 = start(first, b, bo + 1, y, yo + ldy);
    FloatVector a11 = first ? a10 : FloatVector.fromArray(S, y, yo + ldy + V);
    FloatVector a20 = start(first, b, bo + 2, y, yo + 2 * ldy);
    FloatVector a21 = first ? a20 : FloatVector.fromArray(S, y, yo + 2 * ldy + V);
    int end = bto + TILE * kLen;
    for (int i = bto; i < end; i += TILE) {
      FloatVector x0 = FloatVector.fromArray(S, bt, i);
      FloatVector x1 = FloatVector.fromArray(S, bt, i + V);
      int wi = i + wo;
      FloatVector v = FloatVector.broadcast(S, wk[wi]);
      a00 = x0.fma(v, a00);
      a01 = x1.fma(v, a01);
      v = FloatVector.broadcast(S, wk[wi + 1]);
      a10 = x0.fma(v, a10);
      a11 = x1.fma(v, a11);
      v = FloatVector.broadcast(S, wk[wi + 2]);
      a20 = x0.fma(v, a20);
      a21 = x1.fma(v, a21);
    }
    if (lim != null) {
      FloatVector l = FloatVector.broadcast(S, lim[0]), u = FloatVector.broadcast(S, lim[1]);
      a00 = a00.max(l).min(u);
      a01 = a01.max(l).min(u);
      a10 = a10.max(l).min(u);
      a11 = a11.max(l).min(u);
      a20 = a20.max(l).min(u);
      a21 = a21.max(l).min(u);
    }
    a00.intoArray(y, yo);
    a01.intoArray(y, yo + V);
    a10.intoArray(y, yo + ldy);
    a11.intoArray(y, yo + ldy + V);
    a20.intoArray(y, yo + 2 * ldy);
    a21.intoArray(y, yo + 2 * ldy + V);
  }

  private static void k2(Block blk, int wo, int bo, float[] y, int yo, int ldy) {
    final float[] bt = blk.packed(), wk = blk.weights(), b = blk.bias(), lim = blk.lim();
    final int bto = blk.from(), kLen = blk.steps();
    final boolean first = blk.first();
    FloatVector a00 = start(first, b, bo, y, yo);
    FloatVector a01 = first ? a00 : FloatVector.fromArray(S, y, yo + V);
    FloatVector a10 = start(first, b, bo + 1, y, yo + ldy);
    FloatVector a11 = first ? a10 : FloatVector.fromArray(S, y, yo + ldy + V);
    int end = bto + TILE * kLen;
    for (int i = bto; i < end; i += TILE) {
      FloatVector x0 = FloatVector.fromArray(S, bt, i);
      FloatVector x1 = FloatVector.fromArray(S, bt, i + V);
      int wi = i + wo;
      FloatVector v = FloatVector.broadcast(S, wk[wi]);
      a00 = x0.fma(v, a00);
      a01 = x1.fma(v, a01);
      v = FloatVector.broadcast(S, wk[wi + 1]);
      a10 = x0.fma(v, a10);
      a11 = x1.fma(v, a11);
    }
    if (lim != null) {
      FloatVector l = FloatVector.broadcast(S, lim[0]), u = FloatVector.broadcast(S, lim[1]);
      a00 = a00.max(l).min(u);
      a01 = a01.max(l).min(u);
      a10 = a10.max(l).min(u);
      a11 = a11.max(l).min(u);
    }
    a00.intoArray(y, yo);
    a01.intoArray(y, yo + V);
    a10.intoArray(y, yo + ldy);
    a11.intoArray(y, yo + ldy + V);
  }

  private static void k1(Block blk, int wo, int bo, float[] y, int yo, int ldy) {
    final float[] bt = blk.packed(), wk = blk.weights(), b = blk.bias(), lim = blk.lim();
    final int bto = blk.from(), kLen = blk.steps();
    final boolean first = blk.first();
    FloatVector a00 = start(first, b, bo, y, yo);
    FloatVector a01 = first ? a00 : FloatVector.fromArray(S, y, yo + V);
    int end = bto + TILE * kLen;
    for (int i = bto; i < end; i += TILE) {
      FloatVector x0 = FloatVector.fromArray(S, bt, i);
      FloatVector x1 = FloatVector.fromArray(S, bt, i + V);
      int wi = i + wo;
      FloatVector v = FloatVector.broadcast(S, wk[wi]);
      a00 = x0.fma(v, a00);
      a01 = x1.fma(v, a01);
    }
    if (lim != null) {
      FloatVector l = FloatVector.broadcast(S, lim[0]), u = FloatVector.broadcast(S, lim[1]);
      a00 = a00.max(l).min(u);
      a01 = a01.max(l).min(u);
    }
    a00.intoArray(y, yo);
    a01.intoArray(y, yo + V);
  }

  /**
   * A 3x3 depthwise plane: lenPad output pixels (whole tiles, rows of pitch wq) into y[0..],
   * from the prepared input plane at x[xb..], the nine weights held in registers. Bias first,
   * then the taps row by row, as {@link #k1} sums.
   */
  private static void dw3(float[] x, int xb, Layout lay, float[] w, float[] bias, int ch, float[] y, float[] lim) {
    final int[] off = lay.off;
    final int lenPad = lay.lenPad, wb = ch * 9;
    FloatVector w0 = FloatVector.broadcast(S, w[wb]), w1 = FloatVector.broadcast(S, w[wb + 1]);
    FloatVector w2 = FloatVector.broadcast(S, w[wb + 2]), w3 = FloatVector.broadcast(S, w[wb + 3]);
    FloatVector w4 = FloatVector.broadcast(S, w[wb + 4]), w5 = FloatVector.broadcast(S, w[wb + 5]);
    FloatVector w6 = FloatVector.broadcast(S, w[wb + 6]), w7 = FloatVector.broadcast(S, w[wb + 7]);
    FloatVector w8 = FloatVector.broadcast(S, w[wb + 8]);
    FloatVector bv = FloatVector.broadcast(S, bias == null ? 0f : bias[ch]);
    int o0 = xb + off[0], o1 = xb + off[1], o2 = xb + off[2], o3 = xb + off[3], o4 = xb + off[4];
    int o5 = xb + off[5], o6 = xb + off[6], o7 = xb + off[7], o8 = xb + off[8];
    // two tiles (four vectors, four independent FMA chains) per step: one tile's two chains of
    // nine dependent FMAs left the FMA units idle for most of their latency
    int q = 0;
    for (; q + 2 * TILE <= lenPad; q += 2 * TILE) {
      FloatVector a0 = FloatVector.fromArray(S, x, q + o0).fma(w0, bv);
      FloatVector a1 = FloatVector.fromArray(S, x, q + o0 + V).fma(w0, bv);
      FloatVector a2 = FloatVector.fromArray(S, x, q + o0 + 2 * V).fma(w0, bv);
      FloatVector a3 = FloatVector.fromArray(S, x, q + o0 + 3 * V).fma(w0, bv);
      a0 = FloatVector.fromArray(S, x, q + o1).fma(w1, a0);
      a1 = FloatVector.fromArray(S, x, q + o1 + V).fma(w1, a1);
      a2 = FloatVector.fromArray(S, x, q + o1 + 2 * V).fma(w1, a2);
      a3 = FloatVector.fromArray(S, x, q + o1 + 3 * V).fma(w1, a3);
      a0 = FloatVector.fromArray(S, x, q + o2).fma(w2, a0);
      a1 = FloatVector.fromArray(S, x, q + o2 + V).fma(w2, a1);
      a2 = FloatVector.fromArray(S, x, q + o2 + 2 * V).fma(w2, a2);
      a3 = FloatVector.fromArray(S, x, q + o2 + 3 * V).fma(w2, a3);
      a0 = FloatVector.fromArray(S, x, q + o3).fma(w3, a0);
      a1 = FloatVector.fromArray(S, x, q + o3 + V).fma(w3, a1);
      a2 = FloatVector.fromArray(S, x, q + o3 + 2 * V).fma(w3, a2);
      a3 = FloatVector.fromArray(S, x, q + o3 + 3 * V).fma(w3, a3);
      a0 = FloatVector.fromArray(S, x, q + o4).fma(w4, a0);
      a1 = FloatVector.fromArray(S, x, q + o4 + V).fma(w4, a1);
      a2 = FloatVector.fromArray(S, x, q + o4 + 2 * V).fma(w4, a2);
      a3 = FloatVector.fromArray(S, x, q + o4 + 3 * V).fma(w4, a3);
      a0 = FloatVector.fromArray(S, x, q + o5).fma(w5, a0);
      a1 = FloatVector.fromArray(S, x, q + o5 + V).fma(w5, a1);
      a2 = FloatVector.fromArray(S, x, q + o5 + 2 * V).fma(w5, a2);
      a3 = FloatVector.fromArray(S, x, q + o5 + 3 * V).fma(w5, a3);
      a0 = FloatVector.fromArray(S, x, q + o6).fma(w6, a0);
      a1 = FloatVector.fromArray(S, x, q + o6 + V).fma(w6, a1);
      a2 = FloatVector.fromArray(S, x, q + o6 + 2 * V).fma(w6, a2);
      a3 = FloatVector.fromArray(S, x, q + o6 + 3 * V).fma(w6, a3);
      a0 = FloatVector.fromArray(S, x, q + o7).fma(w7, a0);
      a1 = FloatVector.fromArray(S, x, q + o7 + V).fma(w7, a1);
      a2 = FloatVector.fromArray(S, x, q + o7 + 2 * V).fma(w7, a2);
      a3 = FloatVector.fromArray(S, x, q + o7 + 3 * V).fma(w7, a3);
      a0 = FloatVector.fromArray(S, x, q + o8).fma(w8, a0);
      a1 = FloatVector.fromArray(S, x, q + o8 + V).fma(w8, a1);
      a2 = FloatVector.fromArray(S, x, q + o8 + 2 * V).fma(w8, a2);
      a3 = FloatVector.fromArray(S, x, q + o8 + 3 * V).fma(w8, a3);
      if (lim != null) {
        FloatVector l = FloatVector.broadcast(S, lim[0]), u = FloatVector.broadcast(S, lim[1]);
        a0 = a0.max(l).min(u);
        a1 = a1.max(l).min(u);
        a2 = a2.max(l).min(u);
        a3 = a3.max(l).min(u);
      }
      a0.intoArray(y, q);
      a1.intoArray(y, q + V);
      a2.intoArray(y, q + 2 * V);
      a3.intoArray(y, q + 3 * V);
    }
    for (; q < lenPad; q += TILE) {
      FloatVector a0 = FloatVector.fromArray(S, x, q + o0).fma(w0, bv);
      FloatVector a1 = FloatVector.fromArray(S, x, q + o0 + V).fma(w0, bv);
      a0 = FloatVector.fromArray(S, x, q + o1).fma(w1, a0);
      a1 = FloatVector.fromArray(S, x, q + o1 + V).fma(w1, a1);
      a0 = FloatVector.fromArray(S, x, q + o2).fma(w2, a0);
      a1 = FloatVector.fromArray(S, x, q + o2 + V).fma(w2, a1);
      a0 = FloatVector.fromArray(S, x, q + o3).fma(w3, a0);
      a1 = FloatVector.fromArray(S, x, q + o3 + V).fma(w3, a1);
      a0 = FloatVector.fromArray(S, x, q + o4).fma(w4, a0);
      a1 = FloatVector.fromArray(S, x, q + o4 + V).fma(w4, a1);
      a0 = FloatVector.fromArray(S, x, q + o5).fma(w5, a0);
      a1 = FloatVector.fromArray(S, x, q + o5 + V).fma(w5, a1);
      a0 = FloatVector.fromArray(S, x, q + o6).fma(w6, a0);
      a1 = FloatVector.fromArray(S, x, q + o6 + V).fma(w6, a1);
      a0 = FloatVector.fromArray(S, x, q + o7).fma(w7, a0);
      a1 = FloatVector.fromArray(S, x, q + o7 + V).fma(w7, a1);
      a0 = FloatVector.fromArray(S, x, q + o8).fma(w8, a0);
      a1 = FloatVector.fromArray(S, x, q + o8 + V).fma(w8, a1);
      if (lim != null) {
        FloatVector l = FloatVector.broadcast(S, lim[0]), u = FloatVector.broadcast(S, lim[1]);
        a0 = a0.max(l).min(u);
        a1 = a1.max(l).min(u);
      }
      a0.intoArray(y, q);
      a1.intoArray(y, q + V);
    }
  }
}

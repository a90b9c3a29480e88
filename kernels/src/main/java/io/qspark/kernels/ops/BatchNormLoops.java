package io.qspark.kernels.ops;

import io.qspark.kernels.simd.VectorApi;

/**
 * The passes of BatchNorm on batch statistics (QAT's forward and backward) over an NCHW array
 * of n images, c channels and planes of `inner` values, on the channels [c0, c1), each pass in
 * memory order (image by image, channel by channel): one channel's planes are short and far
 * apart (64 planes of 49 values for a 7x7 layer), and walking them channel by channel defeats
 * the prefetcher, several times slower than streaming. Callers run all passes on one block of
 * channels ({@link #block}) before the next, so the block stays in cache between passes.
 *
 * <p>Sums run in float over {@link #LANES} lanes: each plane is cut into chunks of at most
 * {@link #CHUNK_STEPS} groups of {@link #LANES} consecutive values, lane j of a chunk sums the
 * values at offset j of its groups in float, and the chunk's lanes go into the channel's
 * {@link #LANES} double lane totals; a plane's last inner % {@link #LANES} values go into the
 * channel's double tail total. A channel's sum is its lane totals added in lane order, then its
 * tail. So it is a fixed function of the data and its shape, whatever the threads or partitions,
 * each float partial sum covers at most {@link #CHUNK_STEPS} values (accurate for planes of
 * 224x224 and batches of 64+), and neither the float lanes nor the double totals form one long
 * latency chain. With the Vector API ({@link VectorApi#PRESENT}) {@link SimdBatchNormLoops} runs
 * the planes; the scalar code here emulates its lanes, so both give the same bits.
 */
public final class BatchNormLoops {
  /**
   * Values per image in a block of channels the passes run on together: 64 images of a block
   * take 512 KB per array, so a block is still in cache (L2/L3) for its next pass. On the shared
   * 2-core machine blocks of 512 to 4096 values and whole-array streaming measured within noise
   * of each other; walking single channels was several times slower.
   */
  public static final int BLOCK_VALUES = 2048;

  /** Logical lanes of the float sums, the same at every vector width ({@link io.qspark.kernels.simd.VectorWidth#SUM_LANES}). */
  public static final int LANES = 16;
  /** Groups of {@link #LANES} values per float partial sum before it goes into the double totals. */
  public static final int CHUNK_STEPS = 32;
  static final boolean SIMD = VectorApi.PRESENT;

  private BatchNormLoops() {}

  /** The end of the block of channels that starts at c0. */
  public static int block(int c0, int c, int inner) {
    return Math.min(c, c0 + Math.max(1, BLOCK_VALUES / Math.max(1, inner)));
  }

  /**
   * The planes a pass runs on: channels [from, to) of an NCHW array of {@code images} images,
   * {@code channels} channels and planes of {@code inner} values (plane (i, c) at
   * (i * channels + c) * inner).
   */
  public record Planes(int images, int channels, int inner, int from, int to) {
    public Planes {
      if (images < 0 || inner < 0 || from < 0 || from > to || to > channels) {
        throw new OpException("planes: channels [" + from + ", " + to + ") of " + images + " x " + channels + " x " + inner);
      }
    }
  }

  /**
   * BatchNorm's forward per channel as QAT computes it on batch statistics, which its backward
   * recomputes: u = z / divisor[c] (no divisor: u = z), pre = u * mul[c] + off[c], y = act(pre).
   */
  public record Forward(float[] divisor, float[] mul, float[] off, Activation act) {
    /** divisor[c], or 1 without one: z / 1 is z (IEEE), so one loop serves both. */
    float divisor(int c) {
      return divisor == null ? 1f : divisor[c];
    }
  }

  /**
   * One backward first pass's arrays: z and dy read, g written, the forward recomputed, the
   * channel means, the double lane totals of g (l0) and of g (u - mean) (l1) added into, and a
   * chunk's float lanes (tmp, 2 x {@link #LANES}). Made once per pass; a plane is given by its
   * channel and range.
   */
  record GradientPass(float[] z, float[] dy, float[] g, Forward forward, float[] mean, double[] l0, double[] l1,
      float[] tmp) {}

  /** Per-channel sums and, with centers, sums of (x - center[c])^2 (difference and square in float). */
  public static double[] sums(float[] x, float[] centers, Planes planes) {
    return sums(x, centers, planes, SIMD);
  }

  static double[] sums(float[] x, float[] centers, Planes planes, boolean simd) {
    final int n = planes.images(), c = planes.channels(), inner = planes.inner(), c0 = planes.from(), c1 = planes.to();
    double[] lanes = new double[c * LANES], tails = new double[c];
    float[] tmp = new float[LANES];
    for (int ni = 0; ni < n; ni++) {
      for (int ci = c0; ci < c1; ci++) {
        int base = (ni * c + ci) * inner;
        float center = centers == null ? 0f : centers[ci];
        boolean squares = centers != null;
        tails[ci] += simd ? SimdBatchNormLoops.planeSum(x, squares, center, base, base + inner, lanes, ci * LANES, tmp)
            : Scalar.planeSum(x, squares, center, base, base + inner, lanes, ci * LANES, tmp);
      }
    }
    return totals(lanes, tails, c0, c1);
  }

  /** u = z / d[c], as Div computes it; a copy without a divisor (d null). */
  public static void divide(float[] z, float[] d, float[] u, Planes planes) {
    divide(z, d, u, planes, SIMD);
  }

  static void divide(float[] z, float[] d, float[] u, Planes planes, boolean simd) {
    final int n = planes.images(), c = planes.channels(), inner = planes.inner(), c0 = planes.from(), c1 = planes.to();
    if (d == null) {
      for (int ni = 0; ni < n; ni++) System.arraycopy(z, (ni * c + c0) * inner, u, (ni * c + c0) * inner, (c1 - c0) * inner);
      return;
    }
    for (int ni = 0; ni < n; ni++) {
      for (int ci = c0; ci < c1; ci++) {
        int base = (ni * c + ci) * inner;
        if (simd) {
          SimdBatchNormLoops.divide(z, d[ci], u, base, base + inner);
        } else {
          for (int i = base; i < base + inner; i++) u[i] = z[i] / d[ci];
        }
      }
    }
  }

  /** y = act(y * mul[c] + off[c]) in place, as BatchNormalization then the activation compute it. */
  public static void affine(float[] y, float[] mul, float[] off, Activation act, Planes planes) {
    affine(y, mul, off, act, planes, SIMD);
  }

  static void affine(float[] y, float[] mul, float[] off, Activation act, Planes planes, boolean simd) {
    final int n = planes.images(), c = planes.channels(), inner = planes.inner(), c0 = planes.from(), c1 = planes.to();
    for (int ni = 0; ni < n; ni++) {
      for (int ci = c0; ci < c1; ci++) {
        int base = (ni * c + ci) * inner;
        if (simd) {
          SimdBatchNormLoops.affine(y, mul[ci], off[ci], act, base, base + inner);
        } else {
          for (int i = base; i < base + inner; i++) y[i] = y[i] * mul[ci] + off[ci];
          if (act != null) act.apply(y, base, base + inner);
        }
      }
    }
  }

  /**
   * The backward's first pass: g = dy masked by the activation's derivative at the
   * pre-activation u * mul[c] + off[c] (u = z / d[c], recomputed as the forward f computed it, so
   * the same decisions), stored into g; returns per channel {sums of g, sums of g * (u - mean[c])},
   * the product in float.
   */
  public static double[][] gradientSums(float[] z, Forward f, float[] dy, float[] mean, float[] g, Planes planes) {
    return gradientSums(z, f, dy, mean, g, planes, SIMD);
  }

  static double[][] gradientSums(float[] z, Forward f, float[] dy, float[] mean, float[] g, Planes planes, boolean vector) {
    final Activation act = f.act();
    final int n = planes.images(), c = planes.channels(), inner = planes.inner(), c0 = planes.from(), c1 = planes.to();
    checkMask(act);
    double[] l0 = new double[c * LANES], l1 = new double[c * LANES], t0 = new double[c], t1 = new double[c];
    GradientPass pass = new GradientPass(z, dy, g, f, mean, l0, l1, new float[2 * LANES]);
    boolean simd = vector && (act == null || act.kind() != Activation.Kind.LEAKY_RELU); // rare after a BatchNorm
    for (int ni = 0; ni < n; ni++) {
      for (int ci = c0; ci < c1; ci++) {
        int base = (ni * c + ci) * inner;
        double[] tail = simd
            ? SimdBatchNormLoops.planeGradient(pass, ci, base, base + inner)
            : Scalar.planeGradient(pass, ci, base, base + inner);
        t0[ci] += tail[0];
        t1[ci] += tail[1];
      }
    }
    return new double[][] {totals(l0, t0, c0, c1), totals(l1, t1, c0, c1)};
  }

  /** The backward's output pass: g = g * a[c] + (z * bz[c] + k[c]) in place, in float. */
  public static void gradientOutput(float[] g, float[] z, float[] a, float[] bz, float[] k, Planes planes) {
    gradientOutput(g, z, a, bz, k, planes, SIMD);
  }

  static void gradientOutput(float[] g, float[] z, float[] a, float[] bz, float[] k, Planes planes, boolean simd) {
    final int n = planes.images(), c = planes.channels(), inner = planes.inner(), c0 = planes.from(), c1 = planes.to();
    for (int ni = 0; ni < n; ni++) {
      for (int ci = c0; ci < c1; ci++) {
        int base = (ni * c + ci) * inner;
        if (simd) {
          SimdBatchNormLoops.gradientOutput(g, z, a[ci], bz[ci], k[ci], base, base + inner);
        } else {
          for (int i = base; i < base + inner; i++) g[i] = g[i] * a[ci] + (z[i] * bz[ci] + k[ci]);
        }
      }
    }
  }

  /** Which activations the backward's mask knows: those with a derivative (or none). */
  static void checkMask(Activation act) {
    if (act == null) return;
    switch (act.kind()) {
      case RELU: case CLIP: case LEAKY_RELU: case IDENTITY: return;
      default: throw new OpException("no gradient for fused activation " + act.opType());
    }
  }

  /** lanes[at + j] += acc[from + j]: a chunk's float lanes into a channel's double lane totals. */
  static void addLanes(double[] lanes, int at, float[] acc, int from) {
    for (int j = 0; j < LANES; j++) lanes[at + j] += acc[from + j];
  }

  /** Per channel, the lane totals in lane order, then the tail. */
  private static double[] totals(double[] lanes, double[] tails, int c0, int c1) {
    double[] r = new double[tails.length];
    for (int ci = c0; ci < c1; ci++) {
      double t = 0;
      for (int j = 0; j < LANES; j++) t += lanes[ci * LANES + j];
      r[ci] = t + tails[ci];
    }
    return r;
  }

  /** The lane-emulating scalar planes; also the reference the vector planes are tested against. */
  static final class Scalar {
    private Scalar() {}

    /** Chunks of x[from, to) into lanes[at..], or of (x - center)^2 with squares; returns the plane's tail sum. */
    static double planeSum(float[] x, boolean squares, float center, int from, int to, double[] lanes, int at, float[] acc) {
      int i = from;
      while (i + LANES <= to) {
        int stop = Math.min(i + CHUNK_STEPS * LANES, to - (to - i) % LANES);
        java.util.Arrays.fill(acc, 0, LANES, 0f);
        for (; i < stop; i += LANES) {
          for (int j = 0; j < LANES; j++) {
            if (squares) {
              float e = x[i + j] - center;
              acc[j] += e * e;
            } else {
              acc[j] += x[i + j];
            }
          }
        }
        addLanes(lanes, at, acc, 0);
      }
      double tail = 0;
      for (; i < to; i++) {
        if (squares) {
          float e = x[i] - center;
          tail += e * e;
        } else {
          tail += x[i];
        }
      }
      return tail;
    }

    /** dy masked by the activation's derivative at pre, as ActivationGrad.fromInput decides it. */
    static float mask(Activation act, float pre, float dy) {
      if (act == null) return dy;
      switch (act.kind()) {
        case RELU: return pre > 0f ? dy : 0f;
        case CLIP: return pre > act.lo() && pre < act.hi() ? dy : 0f;
        case LEAKY_RELU: return pre >= 0f ? dy : dy * act.alpha();
        default: return dy;
      }
    }

    /** One plane of the backward's first pass (channel ci, values [from, to)); returns its tail sums {g, g (u - mean)}. */
    static double[] planeGradient(GradientPass p, int ci, int from, int to) {
      final float[] z = p.z(), dy = p.dy(), g = p.g(), acc = p.tmp();
      final double[] l0 = p.l0(), l1 = p.l1();
      final Forward f = p.forward();
      final Activation act = f.act();
      final float d = f.divisor(ci), mul = f.mul()[ci], off = f.off()[ci], mean = p.mean()[ci];
      final int at = ci * LANES;
      int i = from;
      while (i + LANES <= to) {
        int stop = Math.min(i + CHUNK_STEPS * LANES, to - (to - i) % LANES);
        java.util.Arrays.fill(acc, 0f);
        for (; i < stop; i += LANES) {
          for (int j = 0; j < LANES; j++) {
            float u = z[i + j] / d;
            float gi = mask(act, u * mul + off, dy[i + j]);
            g[i + j] = gi;
            acc[j] += gi;
            acc[LANES + j] += gi * (u - mean);
          }
        }
        addLanes(l0, at, acc, 0);
        addLanes(l1, at, acc, LANES);
      }
      double t0 = 0, t1 = 0;
      for (; i < to; i++) {
        float u = z[i] / d;
        float gi = mask(act, u * mul + off, dy[i]);
        g[i] = gi;
        t0 += gi;
        t1 += gi * (u - mean);
      }
      return new double[] {t0, t1};
    }
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.exec.VectorApi;

/**
 * The per-channel passes of BatchNorm on batch statistics (QAT's forward and backward) over one
 * channel of an NCHW array: the n planes of `inner` values at (ni * c + ci) * inner.
 *
 * <p>Sums run in float over {@link #LANES} lanes: each plane is cut into chunks of at most
 * {@link #CHUNK_STEPS} groups of {@link #LANES} consecutive values, lane j of a chunk sums the
 * values at offset j of its groups in float, and the chunk's lanes go into {@link #LANES} double
 * lane totals; a plane's last inner % {@link #LANES} values go into a double tail total. The sum
 * is the lane totals added in lane order, then the tail. So it is a fixed function of the data
 * and its shape, whatever the threads or partitions, each float partial sum covers at most
 * {@link #CHUNK_STEPS} values (accurate for planes of 224x224 and batches of 64+), and neither the
 * float lanes nor the double totals form one long latency chain. With the Vector API
 * ({@link VectorApi#PRESENT}) {@link SimdBatchNormLoops} runs the passes; the scalar code here
 * emulates its lanes, so both give the same bits.
 */
public final class BatchNormLoops {
  public static final int LANES = 8;
  /** Groups of {@link #LANES} values per float partial sum before it goes into the double total. */
  public static final int CHUNK_STEPS = 32;
  static final boolean SIMD = VectorApi.PRESENT;

  private BatchNormLoops() {}

  /** Sum of channel ci. */
  public static double sum(float[] x, int ci, int n, int c, int inner) {
    return SIMD ? SimdBatchNormLoops.sum(x, ci, n, c, inner) : Scalar.sum(x, ci, n, c, inner);
  }

  /** Sum of (x - center)^2 over channel ci, the difference and square in float. */
  public static double sumSquares(float[] x, float center, int ci, int n, int c, int inner) {
    return SIMD ? SimdBatchNormLoops.sumSquares(x, center, ci, n, c, inner) : Scalar.sumSquares(x, center, ci, n, c, inner);
  }

  /** u = z / d over channel ci, as Div computes it; a copy without a divisor (d null). */
  public static void divide(float[] z, float[] d, float[] u, int ci, int n, int c, int inner) {
    if (d == null) {
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        System.arraycopy(z, base, u, base, inner);
      }
    } else if (SIMD) {
      SimdBatchNormLoops.divide(z, d[ci], u, ci, n, c, inner);
    } else {
      Scalar.divide(z, d[ci], u, ci, n, c, inner);
    }
  }

  /** y = act(y * mul + off) in place over channel ci, as BatchNormalization then the activation compute it. */
  public static void affine(float[] y, float mul, float off, Activation act, int ci, int n, int c, int inner) {
    if (SIMD) {
      SimdBatchNormLoops.affine(y, mul, off, act, ci, n, c, inner);
    } else {
      Scalar.affine(y, mul, off, act, ci, n, c, inner);
    }
  }

  /**
   * The backward's first pass over channel ci: g = dy masked by the activation's derivative at
   * the pre-activation u * mul + off (u = z / d, recomputed as the forward computed it, so the
   * same decisions), stored into g; returns {sum g, sum g * (u - mean)}, the product in float.
   */
  public static double[] gradientSums(float[] z, float[] d, float[] dy, float mul, float off, Activation act, float mean,
      float[] g, int ci, int n, int c, int inner) {
    // z / 1 is z (IEEE): one loop for both, no branch in it
    float dv = d == null ? 1f : d[ci];
    return SIMD ? SimdBatchNormLoops.gradientSums(z, dv, dy, mul, off, act, mean, g, ci, n, c, inner)
        : Scalar.gradientSums(z, dv, dy, mul, off, act, mean, g, ci, n, c, inner);
  }

  /** The backward's output pass over channel ci: g = g * a + (z * bz + k) in place, in float. */
  public static void gradientOutput(float[] g, float[] z, float a, float bz, float k, int ci, int n, int c, int inner) {
    if (SIMD) {
      SimdBatchNormLoops.gradientOutput(g, z, a, bz, k, ci, n, c, inner);
    } else {
      Scalar.gradientOutput(g, z, a, bz, k, ci, n, c, inner);
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

  /** lanes[j] += acc[from + j]: a chunk's float lanes into the double lane totals. */
  static void addLanes(double[] lanes, float[] acc, int from) {
    for (int j = 0; j < LANES; j++) lanes[j] += acc[from + j];
  }

  /** The lane totals in lane order, then the tail. */
  static double total(double[] lanes, double tail) {
    double t = 0;
    for (int j = 0; j < LANES; j++) t += lanes[j];
    return t + tail;
  }

  /** The lane-emulating scalar passes; also the reference the vector passes are tested against. */
  static final class Scalar {
    private Scalar() {}

    static double sum(float[] x, int ci, int n, int c, int inner) {
      float[] acc = new float[LANES];
      double[] lanes = new double[LANES];
      double tail = 0;
      for (int ni = 0; ni < n; ni++) {
        int i = (ni * c + ci) * inner, end = i + inner;
        while (i + LANES <= end) {
          int stop = Math.min(i + CHUNK_STEPS * LANES, end - (end - i) % LANES);
          java.util.Arrays.fill(acc, 0f);
          for (; i < stop; i += LANES) for (int j = 0; j < LANES; j++) acc[j] += x[i + j];
          addLanes(lanes, acc, 0);
        }
        for (; i < end; i++) tail += x[i];
      }
      return total(lanes, tail);
    }

    static double sumSquares(float[] x, float center, int ci, int n, int c, int inner) {
      float[] acc = new float[LANES];
      double[] lanes = new double[LANES];
      double tail = 0;
      for (int ni = 0; ni < n; ni++) {
        int i = (ni * c + ci) * inner, end = i + inner;
        while (i + LANES <= end) {
          int stop = Math.min(i + CHUNK_STEPS * LANES, end - (end - i) % LANES);
          java.util.Arrays.fill(acc, 0f);
          for (; i < stop; i += LANES) {
            for (int j = 0; j < LANES; j++) {
              float e = x[i + j] - center;
              acc[j] += e * e;
            }
          }
          addLanes(lanes, acc, 0);
        }
        for (; i < end; i++) {
          float e = x[i] - center;
          tail += e * e;
        }
      }
      return total(lanes, tail);
    }

    static void divide(float[] z, float d, float[] u, int ci, int n, int c, int inner) {
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) u[i] = z[i] / d;
      }
    }

    static void affine(float[] y, float mul, float off, Activation act, int ci, int n, int c, int inner) {
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) y[i] = y[i] * mul + off;
        if (act != null) act.apply(y, base, base + inner);
      }
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

    static double[] gradientSums(float[] z, float d, float[] dy, float mul, float off, Activation act,
        float mean, float[] g, int ci, int n, int c, int inner) {
      checkMask(act);
      float[] acc = new float[2 * LANES];
      double[] l0 = new double[LANES], l1 = new double[LANES];
      double t0 = 0, t1 = 0;
      for (int ni = 0; ni < n; ni++) {
        int i = (ni * c + ci) * inner, end = i + inner;
        while (i + LANES <= end) {
          int stop = Math.min(i + CHUNK_STEPS * LANES, end - (end - i) % LANES);
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
          addLanes(l0, acc, 0);
          addLanes(l1, acc, LANES);
        }
        for (; i < end; i++) {
          float u = z[i] / d;
          float gi = mask(act, u * mul + off, dy[i]);
          g[i] = gi;
          t0 += gi;
          t1 += gi * (u - mean);
        }
      }
      return new double[] {total(l0, t0), total(l1, t1)};
    }

    static void gradientOutput(float[] g, float[] z, float a, float bz, float k, int ci, int n, int c, int inner) {
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) g[i] = g[i] * a + (z[i] * bz + k);
      }
    }
  }
}

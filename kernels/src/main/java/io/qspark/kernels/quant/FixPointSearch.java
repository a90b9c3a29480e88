package io.qspark.kernels.quant;

/**
 * Chooses a fix_point for one tensor from its histogram. Ties between candidates go to the
 * smaller fix_point (the wider range), which loses less when unseen data is larger.
 */
public final class FixPointSearch {
  /** Candidates after the no-overflow position that MSE and entropy try (Vitis uses 4). */
  public static final int EXTRA_CANDIDATES = 4;
  /** Linear bins of |x| for the entropy method, as TensorRT. */
  static final int ENTROPY_BINS = 2048;

  private final Method method;
  private final double percentile;

  public FixPointSearch(Method method, double percentile) {
    if (!(percentile > 0 && percentile <= 100)) throw new IllegalArgumentException("percentile " + percentile);
    this.method = method;
    this.percentile = percentile;
  }

  public Method method() {
    return method;
  }

  /** The chosen fix_point for a tensor quantized to {@code bits} with {@code rounding}. */
  public int choose(Histogram h, int bits, Rounding rounding) {
    return choose(h, bits, rounding, true);
  }

  public int choose(Histogram h, int bits, Rounding rounding, boolean signed) {
    if (h.count() == 0) return FixPoint.maxFixPointFor(bits);
    int fp0 = FixPoint.noOverflow(h.min(), h.max(), bits, signed);
    switch (method) {
      case MAXMIN:
        return fp0;
      case PERCENTILE: {
        double a = h.percentileAbs(percentile / 100);
        return FixPoint.noOverflow(Math.max(h.min(), -a), Math.min(h.max(), a), bits, signed);
      }
      case MSE:
        return best(fp0, bits, fp -> h.squaredError(new FixPoint(bits, fp, rounding, signed)));
      case ENTROPY:
        return best(fp0, bits, fp -> Entropy.divergence(h, signed ? bits : bits + 1, fp));
      default:
        throw new AssertionError(method);
    }
  }

  private interface Cost {
    double of(int fp);
  }

  private static int best(int fp0, int bits, Cost cost) {
    int cap = FixPoint.maxFixPointFor(bits);
    int best = fp0;
    double bestCost = cost.of(fp0);
    for (int fp = fp0 + 1; fp <= Math.min(cap, fp0 + EXTRA_CANDIDATES); fp++) {
      double c = cost.of(fp);
      if (c < bestCost) {
        best = fp;
        bestCost = c;
      }
    }
    return best;
  }
}

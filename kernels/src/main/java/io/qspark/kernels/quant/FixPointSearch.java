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

  /** Float steps: the candidate thresholds are amax * i / THRESHOLD_GRID for i = 1..THRESHOLD_GRID. */
  public static final int THRESHOLD_GRID = 128;

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

  /**
   * The chosen quantizer of a kind: a fix_point as {@link #choose}, or a float step threshold /
   * qmax with the threshold chosen by the same method (mse and entropy over a grid of
   * thresholds; ties go to the larger threshold, as they go to the smaller fix_point).
   */
  public FixPoint quantizer(Histogram h, int bits, Rounding rounding, boolean signed, ScaleKind kind) {
    if (kind == ScaleKind.POWER_OF_TWO) return new FixPoint(bits, choose(h, bits, rounding, signed), rounding, signed);
    double amax = signed ? Math.max(-h.min(), h.max()) : Math.max(0, h.max());
    if (h.count() == 0 || !(amax > 0)) return emptyStep(bits, rounding, signed);
    int qmax = new FixPoint(bits, 0, rounding, signed).qmax();
    switch (method) {
      case MAXMIN:
        return step(amax, bits, rounding, signed);
      case PERCENTILE:
        return step(Math.min(amax, h.percentileAbs(percentile / 100)), bits, rounding, signed);
      case MSE:
        return bestThreshold(amax, t -> step(t, bits, rounding, signed), q -> h.squaredError(q));
      case ENTROPY:
        return bestThreshold(amax, t -> step(t, bits, rounding, signed),
            q -> Entropy.divergenceAt(h, qmax + 1, (qmax + 1) * (double) q.step()));
      default:
        throw new AssertionError(method);
    }
  }

  /** The float-step quantizer whose qmax stands for threshold t. */
  static FixPoint step(double t, int bits, Rounding rounding, boolean signed) {
    int qmax = new FixPoint(bits, 0, rounding, signed).qmax();
    float s = (float) (t / qmax);
    return s >= Float.MIN_NORMAL ? FixPoint.ofStep(bits, s, rounding, signed) : emptyStep(bits, rounding, signed);
  }

  /** All zeros: the step the power-of-two search caps at, so an all-zero tensor stays sane. */
  static FixPoint emptyStep(int bits, Rounding rounding, boolean signed) {
    return FixPoint.ofStep(bits, Math.scalb(1f, -FixPoint.maxFixPointFor(bits)), rounding, signed);
  }

  /** Of the grid's thresholds, the least cost; ties to the larger threshold. */
  static FixPoint bestThreshold(double amax, java.util.function.DoubleFunction<FixPoint> quantizer,
      java.util.function.ToDoubleFunction<FixPoint> cost) {
    FixPoint best = null;
    double bestCost = Double.POSITIVE_INFINITY;
    for (int i = THRESHOLD_GRID; i >= 1; i--) {
      FixPoint q = quantizer.apply(amax * i / THRESHOLD_GRID);
      double c = cost.applyAsDouble(q);
      if (best == null || c < bestCost) {
        best = q;
        bestCost = c;
      }
    }
    return best;
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

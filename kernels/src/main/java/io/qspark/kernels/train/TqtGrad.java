package io.qspark.kernels.train;

import io.qspark.kernels.quant.FixPoint;
import java.util.function.ToIntFunction;

/**
 * Fake-quant's backward with trained quantization thresholds (TQT, Jain et al. 2019,
 * arXiv:1903.08066): the value's gradient is the straight-through estimator, zero outside the
 * range ({@link Ste}); the gradient of the quantizer's log2 threshold is collected per point.
 *
 * <p>With q(x) = s·clip(round(x/s), qmin, qmax) and s = 2^ceil(log_t)/2^(b−1), ceil and round
 * passed straight through, dq/dlog_t = s·ln2·(round(x/s) − x/s) where x is inside the range
 * [qmin·s, qmax·s] (the same test {@link Ste} uses) and s·ln2·qmin or s·ln2·qmax below or
 * above it. Sums are in double, in the backward pass's fixed order, so a micro-batch's result
 * does not depend on threads or partitions.
 */
public final class TqtGrad implements Backprop.QuantGrad {
  private static final double LN2 = Math.log(2);
  private final ToIntFunction<String> pointOfValue;
  private final double[] sums;

  /** @param pointOfValue the index of a value's learned threshold, or -1 for a fixed quantizer (weights, the input) */
  public TqtGrad(ToIntFunction<String> pointOfValue, int points) {
    this.pointOfValue = pointOfValue;
    this.sums = new double[points];
  }

  @Override
  public void backward(String name, FixPoint q, float[] x, float[] g) {
    int i = pointOfValue.applyAsInt(name);
    if (i >= 0) sums[i] += thresholdGradient(q, x, g);
    Ste.mask(q, x, g, 0, g.length);
  }

  /** The loss gradient of each learned log2 threshold, summed over the values it quantizes. */
  public double[] sums() {
    return sums;
  }

  /** sum_k g[k]·dq(x[k])/dlog_t, for a power-of-two quantizer q. */
  public static double thresholdGradient(FixPoint q, float[] x, float[] g) {
    double s = q.step();
    float lo = (float) (q.qmin() * s), hi = (float) (q.qmax() * s);
    double sum = 0;
    for (int k = 0; k < x.length; k++) {
      float v = x[k];
      double c;
      if (v >= lo && v <= hi) {
        double scaled = Math.scalb((double) v, q.fixPoint()); // x/s, exact for a power of two
        c = q.rounding().round(scaled) - scaled;
      } else if (v > hi) {
        c = q.qmax();
      } else if (v < lo) {
        c = q.qmin();
      } else {
        continue; // NaN: no gradient, as the straight-through estimator gives it none
      }
      sum += g[k] * c;
    }
    return sum * s * LN2;
  }
}

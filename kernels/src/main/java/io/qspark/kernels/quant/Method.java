package io.qspark.kernels.quant;

/**
 * How an activation's fix_point is chosen from its merged histogram. Every method decides once,
 * from statistics of the whole calibration set, so the result does not depend on batch size or
 * partitioning (Vitis AI takes the mode of per-batch decisions instead).
 */
public enum Method {
  /** The largest fix_point at which nothing overflows. */
  MAXMIN,
  /** No overflow for all but the largest (1 - p) of |x| (p = 99.99% by default). */
  PERCENTILE,
  /** Vitis' "diffs": of the no-overflow fix_point and the next four, the least squared error. */
  MSE,
  /** TensorRT's KL-divergence calibration, over power-of-two clip thresholds. */
  ENTROPY;

  public String key() {
    return name().toLowerCase();
  }

  public static Method parse(String s) {
    for (Method m : values()) if (m.key().equalsIgnoreCase(s)) return m;
    throw new IllegalArgumentException("unknown method '" + s + "' (maxmin, percentile, mse, entropy)");
  }
}

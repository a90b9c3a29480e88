package io.qspark.kernels.train;

import io.qspark.kernels.quant.ExactSum;

/**
 * The squared error of the quantized model's outputs against the float model's over a set of
 * images, summed exactly: the same for any partitioning, so a decision taken on it (keep a
 * layer's update or not) is too.
 */
public final class ExactError implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final ExactSum squaredError = new ExactSum();
  private long count;

  void add(float[] a, float[] b) {
    squaredError.addSquaredErrors(a, b);
    count += a.length;
  }

  public ExactError merge(ExactError o) {
    squaredError.merge(o.squaredError);
    count += o.count;
    return this;
  }

  /** Mean squared error, rounded once (0 without values). */
  public double mse() {
    return count == 0 ? 0 : squaredError.value().divide(java.math.BigDecimal.valueOf(count), java.math.MathContext.DECIMAL64)
        .doubleValue();
  }
}

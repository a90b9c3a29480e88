package io.qspark.kernels.train;

import io.qspark.kernels.quant.ExactSum;
import io.qspark.kernels.quant.GridSum;

/**
 * A layer's loss gradient summed over images exactly: each image's gradient (computed on its
 * own, so it does not depend on which images share a shard) is added on a fixed grid
 * ({@link GridSum}) and its squared error into an {@link ExactSum}. Merging is integer
 * addition, so the total is the same for any partitioning and any order of merges, unlike
 * {@link GradientSum}, whose total depends on the partitioning.
 */
public final class ExactGradient implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final GridSum gradient;
  private final ExactSum squaredError = new ExactSum();
  private long count;

  /** @param size weights then biases */
  public ExactGradient(int size) {
    this.gradient = new GridSum(size);
  }

  /** Adds one image's part. */
  void add(GradientSum.Part p) {
    gradient.add(0, p.gradient());
    squaredError.add(p.squaredError());
    count += p.count();
  }

  /**
   * Adds one image's part: weight gradient w[0, n) (floats, each added as it is), then the bias
   * gradient (null if none), its squared error and the number of values it covers.
   */
  void add(float[] w, int n, double[] bias, double sse, long values) {
    gradient.add(0, w, 0, n);
    if (bias != null) gradient.add(n, bias);
    squaredError.add(sse);
    count += values;
  }

  public ExactGradient merge(ExactGradient o) {
    gradient.merge(o.gradient);
    squaredError.merge(o.squaredError);
    count += o.count;
    return this;
  }

  /** The sums, each rounded once to double. */
  public GradientSum.Total total() {
    return new GradientSum.Total(gradient.values(), squaredError.value().doubleValue(), count);
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.quant.Histogram;

/**
 * A tuned layer's output over a shard: the histogram its output fix_point is chosen from, and
 * its squared error against the float layer.
 */
public record LayerOutput(Histogram histogram, double squaredError, long count) implements java.io.Serializable {
  /** Histograms merge exactly; errors are added in the caller's (partition) order. */
  public LayerOutput merge(LayerOutput o) {
    Histogram h = new Histogram().merge(histogram).merge(o.histogram);
    return new LayerOutput(h, squaredError + o.squaredError, count + o.count);
  }

  public double mse() {
    return count == 0 ? 0 : squaredError / count;
  }
}

package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;

/**
 * Sees every value the executor computes, in execution order, and may replace it: histogram
 * collection observes, fake-quant substitutes the quantized tensor, and everything downstream
 * then computes on what the observer returned. One executor serves float, calibration and
 * quantized evaluation this way.
 */
@FunctionalInterface
public interface TensorObserver {
  /** Observes nothing and keeps nothing: forwards run on the pooled arena ({@link #retainsValues}). */
  TensorObserver NONE = new TensorObserver() {
    @Override
    public Tensor onValue(Node producer, String name, Tensor value) {
      return value;
    }

    @Override
    public boolean retainsValues() {
      return false;
    }
  };

  /**
   * @param producer the node that computed the value, or null for a graph input
   * @return the value to use from here on (the argument itself to only observe)
   */
  Tensor onValue(Node producer, String name, Tensor value);

  /**
   * Whether the observer may keep a value (or its array) it is shown beyond the call, or
   * return one it kept earlier. Only when it does not ({@code false}) does the executor reuse
   * the arrays of dead intermediate values for later ops ({@link io.qspark.kernels.tensor.Arena}):
   * a kept tensor would then change under its holder. True unless an observer opts out.
   */
  default boolean retainsValues() {
    return true;
  }
}

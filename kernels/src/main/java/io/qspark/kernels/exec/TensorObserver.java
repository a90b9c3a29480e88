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
  TensorObserver NONE = (producer, name, value) -> value;

  /**
   * @param producer the node that computed the value, or null for a graph input
   * @return the value to use from here on (the argument itself to only observe)
   */
  Tensor onValue(Node producer, String name, Tensor value);
}

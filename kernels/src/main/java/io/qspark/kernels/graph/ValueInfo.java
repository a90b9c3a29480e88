package io.qspark.kernels.graph;

import io.qspark.kernels.tensor.Tensor;

/** A graph input or output: name and shape, with -1 for a dynamic dimension (the batch). */
public record ValueInfo(String name, int[] shape) {
  public ValueInfo {
    shape = shape.clone();
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }

  @Override
  public String toString() {
    return name + Tensor.shapeString(shape);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** Flatten to 2-D around an axis: [d0*..*d(axis-1), d(axis)*..]. Shares the input's data. */
public final class Flatten implements Op {
  private final long axis;

  public Flatten(Attributes a) {
    this.axis = a.getInt("axis", 1);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int ax = axis == x.rank() ? x.rank() : Shapes.axis(axis, x.rank(), "Flatten");
    int outer = 1;
    for (int d = 0; d < ax; d++) outer *= x.dim(d);
    int inner = outer == 0 ? 0 : x.size() / outer;
    return new Tensor[] {x.reshape(outer, inner)};
  }
}

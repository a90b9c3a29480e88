package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Inserts size-1 axes at the listed positions of the output. Axes come as an attribute before
 * opset 13 and as the second input since. Shares the input's data.
 */
public final class Unsqueeze implements Op {
  private final long[] axes;

  public Unsqueeze(Attributes a) {
    this.axes = a.getInts("axes", null);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    long[] spec = in.length > 1 && in[1] != null ? in[1].asLongs() : axes;
    if (spec == null) throw new OpException("Unsqueeze: no axes given (attribute or second input)");
    int[] xs = x.shape();
    int rank = xs.length + spec.length;
    boolean[] inserted = new boolean[rank];
    for (int d : Elements.axes(spec, rank, "Unsqueeze")) inserted[d] = true;
    int[] shape = new int[rank];
    for (int d = 0, j = 0; d < rank; d++) shape[d] = inserted[d] ? 1 : xs[j++];
    return new Tensor[] {x.reshape(shape)};
  }
}

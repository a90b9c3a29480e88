package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Removes size-1 axes: the listed ones, or all of them if none are listed. Axes come as an
 * attribute before opset 13 and as the optional second input since. Shares the input's data.
 */
public final class Squeeze implements Op {
  private final long[] axes;

  public Squeeze(Attributes a) {
    this.axes = a.getInts("axes", null);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    long[] spec = in.length > 1 && in[1] != null ? in[1].asLongs() : axes;
    int[] xs = x.shape();
    boolean[] drop = new boolean[xs.length];
    if (spec == null) {
      for (int d = 0; d < xs.length; d++) drop[d] = xs[d] == 1;
    } else {
      for (int d : Elements.axes(spec, xs.length, "Squeeze")) {
        if (xs[d] != 1) {
          throw new OpException("Squeeze: axis " + d + " of " + Tensor.shapeString(xs) + " has size " + xs[d] + ", not 1");
        }
        drop[d] = true;
      }
    }
    int kept = 0;
    for (boolean b : drop) if (!b) kept++;
    int[] shape = new int[kept];
    for (int d = 0, j = 0; d < xs.length; d++) if (!drop[d]) shape[j++] = xs[d];
    return new Tensor[] {x.reshape(shape)};
  }
}

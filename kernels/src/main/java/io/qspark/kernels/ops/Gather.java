package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * numpy take along one axis: out shape = data[:axis] + indices + data[axis+1:]. Float or int64
 * data; indices may be negative (counted from the end).
 */
public final class Gather implements Op {
  private final long axis;

  public Gather(Attributes a) {
    this.axis = a.getInt("axis", 0);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    Tensor idx = in[1];
    if (idx.isFloat()) throw new OpException("Gather: indices must be integers, got " + idx);
    int[] xs = x.shape();
    int ax = Shapes.axis(axis, xs.length, "Gather");
    int[] is = idx.shape();
    int[] shape = new int[xs.length - 1 + is.length];
    System.arraycopy(xs, 0, shape, 0, ax);
    System.arraycopy(is, 0, shape, ax, is.length);
    System.arraycopy(xs, ax + 1, shape, ax + is.length, xs.length - ax - 1);
    int outer = 1;
    for (int d = 0; d < ax; d++) outer *= xs[d];
    int inner = 1;
    for (int d = ax + 1; d < xs.length; d++) inner *= xs[d];
    int dim = xs[ax];
    long[] ind = idx.longs();
    int k = ind.length;
    Object src = Elements.array(x);
    Object y = Elements.allocate(x, outer * k * inner);
    for (int j = 0; j < k; j++) {
      long i = ind[j] < 0 ? ind[j] + dim : ind[j];
      if (i < 0 || i >= dim) {
        throw new OpException("Gather: index " + ind[j] + " out of range for axis " + ax + " of size " + dim);
      }
      for (int o = 0; o < outer; o++) {
        System.arraycopy(src, (o * dim + (int) i) * inner, y, (o * k + j) * inner, inner);
      }
    }
    return new Tensor[] {Elements.wrap(y, shape)};
  }
}

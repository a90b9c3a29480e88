package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** Concatenation along one axis, float or int64 (exporters concat shape vectors). */
public final class Concat implements Op {
  private final long axis;

  public Concat(Attributes a) {
    if (!a.has("axis")) throw new OpException("Concat: the axis attribute is required");
    this.axis = a.getInt("axis", 0);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    if (in.length == 0 || in[0] == null) throw new OpException("Concat: no inputs");
    Tensor first = in[0];
    int rank = first.rank();
    int ax = Shapes.axis(axis, rank, "Concat");
    int[] shape = first.shape();
    int total = 0;
    for (Tensor t : in) {
      if (t.rank() != rank || t.dtype() != first.dtype()) {
        throw new OpException("Concat: inputs differ in rank or type: " + describe(in));
      }
      for (int d = 0; d < rank; d++) {
        if (d != ax && t.dim(d) != shape[d]) {
          throw new OpException("Concat: shapes differ outside axis " + ax + ": " + describe(in));
        }
      }
      total += t.dim(ax);
    }
    shape[ax] = total;
    int outer = 1;
    for (int d = 0; d < ax; d++) outer *= shape[d];
    int inner = 1;
    for (int d = ax + 1; d < rank; d++) inner *= shape[d];
    int row = total * inner;
    Object y = Elements.allocate(first, outer * row);
    int off = 0;
    for (Tensor t : in) {
      int len = t.dim(ax) * inner;
      Object x = Elements.array(t);
      for (int o = 0; o < outer; o++) System.arraycopy(x, o * len, y, o * row + off, len);
      off += len;
    }
    return new Tensor[] {Elements.wrap(y, shape)};
  }

  private static String describe(Tensor[] in) {
    StringBuilder b = new StringBuilder();
    for (Tensor t : in) b.append(b.length() == 0 ? "" : ", ").append(t);
    return b.toString();
  }
}

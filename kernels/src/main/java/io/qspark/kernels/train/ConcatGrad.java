package io.qspark.kernels.train;

import io.qspark.kernels.ops.Shapes;
import io.qspark.kernels.tensor.Tensor;

/** Backward of Concat: each input takes its slice of the output gradient along the axis. */
public final class ConcatGrad implements OpGrad {
  private final long axis;

  public ConcatGrad(io.qspark.kernels.graph.Attributes a) {
    this.axis = a.getInt("axis", 0);
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    int ax = Shapes.axis(axis, out.rank(), "Concat");
    int[] ys = out.shape();
    int outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= ys[d];
    for (int d = ax + 1; d < ys.length; d++) inner *= ys[d];
    float[] dy = dyT.data();
    Tensor[] r = new Tensor[in.length];
    int off = 0;
    for (int i = 0; i < in.length; i++) {
      if (!in[i].isFloat()) continue;
      int len = in[i].dim(ax) * inner;
      float[] g = new float[in[i].size()];
      for (int o = 0; o < outer; o++) System.arraycopy(dy, o * ys[ax] * inner + off, g, o * len, len);
      r[i] = Tensor.of(g, in[i].shape());
      off += len;
    }
    return r;
  }
}

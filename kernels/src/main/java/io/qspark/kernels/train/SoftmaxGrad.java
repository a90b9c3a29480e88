package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Shapes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of Softmax from its output y: dx = y·(dy − Σ dy·y) over each normalized group, the
 * sum in double in index order. The groups are the forward op's: one axis since opset 13, the
 * input flattened at the axis before.
 */
public final class SoftmaxGrad implements OpGrad {
  private final long axis;
  private final boolean flatten;

  public SoftmaxGrad(Attributes a) {
    this.flatten = a.opset() < 13;
    this.axis = a.getInt("axis", flatten ? 1 : -1);
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    int[] s = out.shape();
    int ax = Shapes.axis(axis, s.length, "Softmax");
    int outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= s[d];
    for (int d = ax + 1; d < s.length; d++) inner *= s[d];
    int len = flatten ? s[ax] * inner : s[ax];
    int stride = flatten ? 1 : inner;
    int rows = flatten ? 1 : inner;
    float[] y = out.data(), dy = dyT.data(), dx = new float[y.length];
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < rows; i++) {
        int base = o * s[ax] * inner + i, end = base + len * stride;
        double dot = 0;
        for (int p = base; p < end; p += stride) dot += (double) dy[p] * y[p];
        for (int p = base; p < end; p += stride) dx[p] = (float) (y[p] * (dy[p] - dot));
      }
    }
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(dx, in[0].shape());
    return r;
  }
}

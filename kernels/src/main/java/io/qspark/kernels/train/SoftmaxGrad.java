package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Softmax;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of Softmax from its output y: dx = y·(dy − Σ dy·y) over each normalized row, the
 * sum in double in index order. The rows are the forward op's ({@link Softmax#rows}): one axis
 * since opset 13, the input flattened at the axis before.
 */
public final class SoftmaxGrad implements OpGrad {
  private final Softmax softmax;

  public SoftmaxGrad(Attributes a) {
    this.softmax = new Softmax(a);
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Softmax.Rows rows = softmax.rows(out.shape());
    float[] y = out.data(), dy = dyT.data(), dx = new float[y.length];
    int len = rows.len(), stride = rows.stride();
    for (int o = 0; o < rows.outer(); o++) {
      for (int i = 0; i < rows.perOuter(); i++) {
        int base = rows.base(o, i), end = base + len * stride;
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

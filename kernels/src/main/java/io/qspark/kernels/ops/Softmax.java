package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Softmax. Opset 13 normalises along one axis (default -1). Earlier opsets flatten the input to
 * 2-D at the axis (default 1) and normalise each row, i.e. over all trailing axes together; the
 * two agree only when the axis is the last one.
 */
public final class Softmax implements Op {
  private final long axis;
  private final boolean flatten;

  public Softmax(Attributes a) {
    this.flatten = a.opset() < 13;
    this.axis = a.getInt("axis", flatten ? 1 : -1);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int[] s = x.shape();
    if (s.length == 0) throw new OpException("Softmax: scalar input");
    int ax = Shapes.axis(axis, s.length, "Softmax");
    int outer = 1;
    for (int d = 0; d < ax; d++) outer *= s[d];
    int inner = 1;
    for (int d = ax + 1; d < s.length; d++) inner *= s[d];
    // flattened: one row of len dim*inner, contiguous; per axis: rows of len dim with stride inner
    int len = flatten ? s[ax] * inner : s[ax];
    int stride = flatten ? 1 : inner;
    int rowsPerOuter = flatten ? 1 : inner;
    float[] xd = x.data();
    float[] y = new float[xd.length];
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < rowsPerOuter; i++) {
        row(xd, y, o * s[ax] * inner + i, len, stride);
      }
    }
    return new Tensor[] {Tensor.of(y, s)};
  }

  /** Max-shifted so large logits do not overflow exp. */
  private static void row(float[] x, float[] y, int base, int len, int stride) {
    int end = base + len * stride;
    float max = Float.NEGATIVE_INFINITY;
    for (int p = base; p < end; p += stride) max = Math.max(max, x[p]);
    double sum = 0;
    for (int p = base; p < end; p += stride) {
      float e = (float) Math.exp(x[p] - max);
      y[p] = e;
      sum += e;
    }
    float inv = (float) (1.0 / sum);
    for (int p = base; p < end; p += stride) y[p] *= inv;
  }

  @Override
  public String describe() {
    return "axis=" + axis;
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
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

  /**
   * The rows an input of shape s is normalized in: {@code outer * perOuter} rows, row (o, i)
   * starting at {@code o * outerStride + i} with {@code len} values {@code stride} apart.
   * Flattened (before opset 13): one contiguous row of dim·inner values per outer index; per
   * axis: inner rows of dim values, stride inner.
   */
  public record Rows(int outer, int perOuter, int outerStride, int len, int stride) {
    public int base(int o, int i) {
      return o * outerStride + i;
    }
  }

  public Rows rows(int[] s) {
    if (s.length == 0) throw new OpException("Softmax: scalar input");
    int ax = Shapes.axis(axis, s.length, "Softmax");
    int outer = 1;
    for (int d = 0; d < ax; d++) outer *= s[d];
    int inner = 1;
    for (int d = ax + 1; d < s.length; d++) inner *= s[d];
    return flatten ? new Rows(outer, 1, s[ax] * inner, s[ax] * inner, 1) : new Rows(outer, inner, s[ax] * inner, s[ax], inner);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int[] s = x.shape();
    Rows r = rows(s);
    float[] xd = x.data();
    float[] y = Arena.floats(xd.length);
    for (int o = 0; o < r.outer(); o++) {
      for (int i = 0; i < r.perOuter(); i++) row(xd, y, r.base(o, i), r.len(), r.stride());
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

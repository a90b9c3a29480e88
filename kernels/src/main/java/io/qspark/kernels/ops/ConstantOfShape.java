package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** ONNX ConstantOfShape: a tensor of the given shape filled with {@code value} (default float 0). */
public final class ConstantOfShape implements Op {
  private final Tensor value;

  public ConstantOfShape(Attributes a) {
    Tensor v = a.getTensor("value");
    if (v != null && v.size() != 1) throw new OpException("ConstantOfShape: value must hold one element, it has " + v.size());
    this.value = v == null ? Tensor.scalar(0f) : v;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    long[] spec = in[0].asLongs();
    int[] shape = new int[spec.length];
    for (int i = 0; i < spec.length; i++) {
      if (spec[i] < 0 || spec[i] > Integer.MAX_VALUE) throw new OpException("ConstantOfShape: invalid dimension " + spec[i]);
      shape[i] = (int) spec[i];
    }
    int n = Math.toIntExact(Tensor.size(shape));
    if (value.isFloat()) {
      float[] y = new float[n];
      java.util.Arrays.fill(y, value.data()[0]);
      return new Tensor[] {Tensor.of(y, shape)};
    }
    long[] y = new long[n];
    java.util.Arrays.fill(y, value.longs()[0]);
    return new Tensor[] {Tensor.ofLongs(y, shape)};
  }
}

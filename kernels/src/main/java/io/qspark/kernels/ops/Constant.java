package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** ONNX Constant: the value attribute (tensor, or the scalar/list forms of opset 12+). */
public final class Constant implements Op {
  private final Tensor value;

  public Constant(Attributes a) {
    if (a.getTensor("value") != null) {
      value = a.getTensor("value");
    } else if (a.has("value_float")) {
      value = Tensor.of(new float[] {a.getFloat("value_float", 0)});
    } else if (a.has("value_floats")) {
      float[] f = a.getFloats("value_floats", null);
      value = Tensor.of(f, f.length);
    } else if (a.has("value_int")) {
      value = Tensor.ofLongs(new long[] {a.getInt("value_int", 0)});
    } else if (a.has("value_ints")) {
      long[] l = a.getInts("value_ints", null);
      value = Tensor.ofLongs(l, l.length);
    } else {
      throw new OpException("Constant: no supported value attribute (sparse and string constants are not supported)");
    }
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    return new Tensor[] {value};
  }
}

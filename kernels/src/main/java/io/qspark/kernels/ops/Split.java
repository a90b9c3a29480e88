package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Split along one axis into as many parts as the node has outputs: sizes from the
 * {@code split} attribute (before opset 13) or input (since), else equal parts, the last one
 * smaller when the axis does not divide (opset 18's {@code num_outputs}). Float or int64.
 */
public final class Split implements Op {
  private final long axis;
  private final long[] split;
  private final int outputs;

  /** @param outputs the number of outputs the node declares */
  public Split(Attributes a, int outputs) {
    this.axis = a.getInt("axis", 0);
    this.split = a.getInts("split", null);
    this.outputs = outputs;
    long n = a.getInt("num_outputs", outputs);
    if (n != outputs) throw new OpException("Split: num_outputs " + n + " but the node has " + outputs + " outputs");
  }

  /** The axis the input of this shape is cut along. */
  public int axis(int[] xs) {
    return Shapes.axis(axis, xs.length, "Split");
  }

  /** The length of each part along the axis, for these inputs (the input, and the sizes since opset 13). */
  public long[] sizes(Tensor[] in) {
    int[] xs = in[0].shape();
    int dim = xs[axis(xs)];
    long[] sizes = in.length > 1 && in[1] != null ? in[1].asLongs() : split;
    if (sizes == null) {
      sizes = new long[outputs];
      long part = (dim + outputs - 1) / outputs;
      for (int i = 0; i < outputs; i++) sizes[i] = Math.max(0, Math.min(part, dim - part * i));
      if (dim % outputs != 0 && part * (outputs - 1) >= dim) {
        throw new OpException("Split: axis of size " + dim + " cannot be cut into " + outputs + " parts");
      }
    }
    if (sizes.length != outputs) {
      throw new OpException("Split: " + sizes.length + " sizes for " + outputs + " outputs");
    }
    long total = 0;
    for (long s : sizes) {
      if (s < 0) throw new OpException("Split: negative size " + s);
      total += s;
    }
    if (total != dim) throw new OpException("Split: sizes add up to " + total + ", the axis has " + dim);
    return sizes;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int[] xs = x.shape();
    int ax = axis(xs);
    int dim = xs[ax];
    long[] sizes = sizes(in);
    int outer = 1;
    for (int d = 0; d < ax; d++) outer *= xs[d];
    int inner = 1;
    for (int d = ax + 1; d < xs.length; d++) inner *= xs[d];
    Object src = Elements.array(x);
    Tensor[] out = new Tensor[outputs];
    int off = 0;
    for (int i = 0; i < outputs; i++) {
      int len = (int) sizes[i] * inner;
      Object y = Elements.allocate(x, outer * len);
      for (int o = 0; o < outer; o++) System.arraycopy(src, o * dim * inner + off, y, o * len, len);
      int[] shape = xs.clone();
      shape[ax] = (int) sizes[i];
      out[i] = Elements.wrap(y, shape);
      off += len;
    }
    return out;
  }

  @Override
  public String describe() {
    return "axis=" + axis;
  }
}

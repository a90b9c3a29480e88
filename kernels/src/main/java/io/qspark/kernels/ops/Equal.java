package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Tensor;

/** ONNX Equal with numpy broadcasting: bool (held as int64 0/1) of float or integer inputs. */
public final class Equal implements Op {
  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor a = in[0], b = in[1];
    Tensor[] both = Expand.broadcastAll(a, b);
    Tensor ab = both[0], bb = both[1];
    int[] shape = ab.shape();
    long[] r = new long[ab.size()];
    if (a.isFloat() || b.isFloat()) {
      float[] x = ab.asFloats(), y = bb.asFloats();
      for (int i = 0; i < r.length; i++) r[i] = x[i] == y[i] ? 1 : 0;
    } else {
      long[] x = ab.longs(), y = bb.longs();
      for (int i = 0; i < r.length; i++) r[i] = x[i] == y[i] ? 1 : 0;
    }
    return new Tensor[] {Tensor.ofLongs(r, shape)};
  }
}

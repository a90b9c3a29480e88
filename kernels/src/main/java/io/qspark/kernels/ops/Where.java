package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Where(condition, x, y): x where the condition is true, else y, all three broadcast
 * together. x and y share a type (float or int64); the condition is bool (held as int64).
 * Exporters use it on shape vectors (PyTorch's expand: Where(Equal(shape, -1), 1, shape)).
 */
public final class Where implements Op {
  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor c = in[0], x = in[1], y = in[2];
    if (c.isFloat()) throw new OpException("Where: the condition must be bool, got " + c);
    if (x.dtype() != y.dtype()) throw new OpException("Where: x and y differ in type: " + x + ", " + y);
    Tensor[] all = Expand.broadcastAll(c, x, y);
    int[] shape = all[0].shape();
    long[] cond = all[0].longs();
    Tensor xb = all[1], yb = all[2];
    int n = cond.length;
    if (x.isFloat()) {
      float[] a = xb.data(), b = yb.data(), r = Arena.floats(n);
      for (int i = 0; i < n; i++) r[i] = cond[i] != 0 ? a[i] : b[i];
      return new Tensor[] {Tensor.of(r, shape)};
    }
    long[] a = xb.longs(), b = yb.longs(), r = new long[n];
    for (int i = 0; i < n; i++) r[i] = cond[i] != 0 ? a[i] : b[i];
    return new Tensor[] {Tensor.ofLongs(r, shape)};
  }
}

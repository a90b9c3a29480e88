package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Expand: broadcasts the input to the given shape (numpy's rules in both directions, so
 * the result may be larger than the shape asks where the input is). Float or int64.
 */
public final class Expand implements Op {
  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    long[] spec = in[1].asLongs();
    int[] target = new int[spec.length];
    for (int i = 0; i < spec.length; i++) {
      if (spec[i] < 0 || spec[i] > Integer.MAX_VALUE) throw new OpException("Expand: invalid dimension " + spec[i]);
      target[i] = (int) spec[i];
    }
    int[] shape = Shapes.broadcast(x.shape(), target);
    return new Tensor[] {broadcast(x, shape)};
  }

  /** The tensors broadcast together (numpy's rules), each repeated to the common shape. */
  static Tensor[] broadcastAll(Tensor... ts) {
    int[] shape = ts[0].shape();
    for (int i = 1; i < ts.length; i++) shape = Shapes.broadcast(shape, ts[i].shape());
    Tensor[] r = new Tensor[ts.length];
    for (int i = 0; i < ts.length; i++) r[i] = broadcast(ts[i], shape);
    return r;
  }

  /** x repeated along its broadcast axes to {@code shape}. */
  static Tensor broadcast(Tensor x, int[] shape) {
    int n = Shapes.size(shape);
    int[] st = Shapes.broadcastStrides(x.shape(), shape);
    int r = shape.length;
    int[] src = new int[n];
    int[] idx = new int[r];
    for (int i = 0, off = 0; i < n; i++) {
      src[i] = off;
      for (int d = r - 1; d >= 0; d--) {
        off += st[d];
        if (++idx[d] < shape[d]) break;
        off -= st[d] * shape[d];
        idx[d] = 0;
      }
    }
    return Elements.gather(x, src, shape, 0);
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;

/** Backward of Expand: the output gradient summed back over the broadcast axes. The shape gets none. */
public final class ExpandGrad implements OpGrad {
  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(Broadcasts.reduce(dy.data(), out.shape(), in[0].shape()), in[0].shape());
    return r;
  }
}

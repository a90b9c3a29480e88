package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of ops that only relabel the shape (Reshape, Flatten, Squeeze, Unsqueeze,
 * Identity, inference Dropout): the output gradient in the input's shape; shape operands get
 * none.
 */
public final class ReshapeGrad implements OpGrad {
  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(dy.data().clone(), in[0].shape());
    return r;
  }
}

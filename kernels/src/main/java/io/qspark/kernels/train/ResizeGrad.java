package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Resize;
import io.qspark.kernels.ops.Upsample;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of Resize and Upsample (nearest and linear, every coordinate mode the forward op
 * takes): for fixed scales or sizes the op is linear in its input, and the gradient is its
 * transpose, computed from the same source indices and weights as the forward pass
 * ({@link Resize#adjoint}). Scales, sizes and roi get none.
 */
public final class ResizeGrad implements OpGrad {
  private final Resize resize;
  private final Upsample upsample;

  public ResizeGrad(String opType, Attributes a) {
    this.resize = opType.equals("Resize") ? new Resize(a) : null;
    this.upsample = opType.equals("Upsample") ? new Upsample(a) : null;
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    Tensor[] r = new Tensor[in.length];
    r[0] = resize != null ? resize.adjoint(in, dy) : upsample.adjoint(in, dy);
    return r;
  }
}

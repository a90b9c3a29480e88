package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;

/**
 * The backward pass of one node: the loss gradient with respect to each input, given the
 * node's inputs and output (as the forward pass computed them) and the loss gradient at the
 * output. The forward pass is the inference op itself, so training runs the same kernels as
 * calibration and evaluation; only the gradients are new.
 */
public interface OpGrad {
  /**
   * @return one gradient per input, shaped as that input; null for inputs that carry no
   *     gradient (int64 shapes, BatchNorm's running statistics, omitted optional inputs)
   */
  Tensor[] backward(Tensor[] inputs, Tensor output, Tensor gradOutput);

  /** The same given every output of the forward pass, for ops whose backward reuses more than the first. */
  default Tensor[] backward(Tensor[] inputs, Tensor[] outputs, Tensor gradOutput) {
    return backward(inputs, outputs[0], gradOutput);
  }
}

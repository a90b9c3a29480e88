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

  /**
   * The same given the loss gradient at each output (null where none reaches it, never all).
   * Ops with one differentiable output take it from the first; a gradient at another output
   * of such an op is an error, not silently dropped.
   */
  default Tensor[] backward(Tensor[] inputs, Tensor[] outputs, Tensor[] gradOutputs) {
    for (int j = 1; j < gradOutputs.length; j++) {
      if (gradOutputs[j] != null) throw new io.qspark.kernels.ops.OpException("no gradient through output " + j);
    }
    if (gradOutputs[0] == null) throw new io.qspark.kernels.ops.OpException("no gradient at output 0");
    return backward(inputs, outputs, gradOutputs[0]);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Tensor;

/**
 * One node's computation, built from its attributes once and then run on any batch. Ops are
 * stateless after construction (safe to share between threads) and never write their inputs.
 * Gradients (fine-tuning, QAT) come as a separate interface on the ops that have them, so the
 * same executor runs inference, fake-quant and training.
 */
public interface Op {
  /** Inputs are positional as in the node; an omitted optional input is null. */
  Tensor[] forward(Tensor[] inputs);

  /** Multiply-accumulates of one forward pass for these shapes (0 for ops that do none). */
  default long macs(int[][] inputShapes, int[][] outputShapes) {
    return 0;
  }

  /** A short human-readable description of the parameters, for the inspector's table. */
  default String describe() {
    return "";
  }
}

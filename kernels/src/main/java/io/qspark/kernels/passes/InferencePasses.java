package io.qspark.kernels.passes;

import io.qspark.kernels.graph.Graph;

/**
 * The graph rewrites that turn an exported training graph into what a DPU executes: fully
 * connected MatMul+Add as Gemm, BatchNorm folded into its conv/gemm, activations fused. Float
 * outputs are unchanged up to rounding.
 */
public final class InferencePasses {
  private InferencePasses() {}

  public static Graph apply(Graph g) {
    return FuseActivation.apply(FoldBatchNorm.apply(MatMulToGemm.apply(g)));
  }
}

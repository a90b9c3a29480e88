/** Graph rewrites that keep the float function: MatMul+Add to Gemm, BatchNorm folding, activation fusion, gated activations (SiLU, HardSwish), cross-layer equalization. */
package io.qspark.kernels.passes;

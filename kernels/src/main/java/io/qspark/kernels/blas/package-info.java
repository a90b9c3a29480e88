/** OpenBLAS single-precision GEMM through bytedeco, with per-thread off-heap operand workspaces reused across calls. */
package io.qspark.kernels.blas;

package io.qspark.kernels.blas;

/**
 * The shape of one row-major GEMM, C = alpha op(A) op(B) + beta C, as cblas_sgemm takes it:
 * op(A) is m x k, op(B) k x n, C m x n, and each operand's leading dimension is the length of
 * its rows as stored (for a contiguous A, k, or m if it is read transposed). The parameter
 * record {@link Blas#sgemm} and the GEMM helpers take instead of the nine loose values; made once
 * per layer or block of images, not per call.
 */
public record GemmShape(boolean transA, boolean transB, int m, int n, int k, int lda, int ldb, int ldc) {
  public GemmShape {
    if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("GEMM of " + m + " x " + k + " by " + k + " x " + n);
  }

  /** Contiguous operands: every leading dimension the length of a stored row. */
  public static GemmShape of(boolean transA, boolean transB, int m, int n, int k) {
    return new GemmShape(transA, transB, m, n, k, transA ? m : k, transB ? k : n, n);
  }
}

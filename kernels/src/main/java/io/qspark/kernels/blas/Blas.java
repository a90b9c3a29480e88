package io.qspark.kernels.blas;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * Single-precision GEMM through OpenBLAS's cblas_sgemm, from bytedeco's OpenBLAS preset (the
 * natives come in its linux-x86_64 jar; the root pom says why this library and this version).
 * Operands are off-heap {@link FloatPointer}s so no call copies arrays across JNI; a pointer's
 * position is its offset. Row-major throughout, like our tensors.
 */
public final class Blas {
  private static final int ROW_MAJOR = 101;
  private static final int NO_TRANS = 111;
  private static final int TRANS = 112;

  static {
    Loader.load(openblas_nolapack.class);
    // qspark parallelises over images (Executor) and Spark over tasks; BLAS threads on top of
    // that would oversubscribe the cores and make small GEMMs slower, not faster
    openblas_nolapack.blas_set_num_threads(1);
  }

  private Blas() {}

  /** C = alpha * op(A) * op(B) + beta * C with op(A) M x K, op(B) K x N, C M x N (the shape s). */
  public static void sgemm(GemmShape s, float alpha, FloatPointer a, FloatPointer b, float beta, FloatPointer c) {
    openblas_nolapack.cblas_sgemm(ROW_MAJOR, s.transA() ? TRANS : NO_TRANS, s.transB() ? TRANS : NO_TRANS,
        s.m(), s.n(), s.k(), alpha, a, s.lda(), b, s.ldb(), beta, c, s.ldc());
  }

  /**
   * OpenBLAS's own thread count. Spark runs one task per core, so executors set 1 to avoid
   * oversubscription; a single-task process (benchmarks, bin/qspark on one partition) may use all.
   */
  public static void setThreads(int n) {
    openblas_nolapack.blas_set_num_threads(n);
  }

  public static int threads() {
    return openblas_nolapack.blas_get_num_threads();
  }
}

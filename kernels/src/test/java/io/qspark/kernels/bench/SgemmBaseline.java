package io.qspark.kernels.bench;

import io.qspark.kernels.blas.Blas;
import org.bytedeco.javacpp.FloatPointer;

/**
 * What this machine's OpenBLAS does on square single-precision GEMMs with preallocated
 * off-heap operands: the ceiling qspark's Conv and Gemm could approach, so forward-pass
 * throughput can be read as a fraction of it.
 */
final class SgemmBaseline {
  /** Flops per timed sample, so small GEMMs are repeated enough to be timed reliably. */
  private static final double FLOPS_PER_SAMPLE = 4e9;

  private SgemmBaseline() {}

  /** GFLOP/s (median) of C = A * B with A, B, C n x n, on OpenBLAS's current thread count. */
  static double gflops(int n) throws Exception {
    long elems = (long) n * n;
    try (FloatPointer a = new FloatPointer(elems);
        FloatPointer b = new FloatPointer(elems);
        FloatPointer c = new FloatPointer(elems)) {
      float[] values = new float[(int) elems];
      // values in [-0.5, 0.5): no overflow or denormals to slow any run down
      for (int i = 0; i < values.length; i++) values[i] = (i * 7919 % 1000) / 1000f - 0.5f;
      a.put(values);
      b.put(values);
      double flops = 2.0 * n * n * n;
      int reps = (int) Math.max(1, FLOPS_PER_SAMPLE / flops);
      Timing.Samples s = Timing.measure(() -> {
        for (int r = 0; r < reps; r++) Blas.sgemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);
      });
      return flops * reps / s.median() / 1e9;
    }
  }
}

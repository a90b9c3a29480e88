package io.qspark.kernels.bench;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.blas.GemmShape;
import org.bytedeco.javacpp.FloatPointer;

/**
 * What this machine's OpenBLAS does on a square single-precision GEMM with preallocated
 * off-heap operands: the ceiling qspark's Conv and Gemm could approach, so forward-pass
 * throughput can be read as a fraction of it. Runs on OpenBLAS's current thread count.
 */
final class SgemmBaseline implements AutoCloseable {
  /** Flops per timed run, so small GEMMs are repeated enough to be timed reliably. */
  private static final double FLOPS_PER_RUN = 4e9;

  private final int n;
  private final int reps;
  private final FloatPointer a;
  private final FloatPointer b;
  private final FloatPointer c;

  SgemmBaseline(int n) {
    this.n = n;
    this.reps = (int) Math.max(1, FLOPS_PER_RUN / flopsPerGemm());
    int elems = Math.multiplyExact(n, n);
    float[] values = new float[elems];
    // values in [-0.5, 0.5): no overflow or denormals to slow any run down
    for (int i = 0; i < elems; i++) values[i] = (i * 7919 % 1000) / 1000f - 0.5f;
    a = new FloatPointer(values);
    b = new FloatPointer(values);
    c = new FloatPointer(elems);
  }

  private double flopsPerGemm() {
    return 2.0 * n * n * n;
  }

  /** One timed run: C = A * B, repeated so the run is long enough to time. */
  Timing.Action action() {
    GemmShape square = GemmShape.of(false, false, n, n, n);
    return () -> {
      for (int r = 0; r < reps; r++) Blas.sgemm(square, 1f, a, b, 0f, c);
    };
  }

  double gflops(Timing.Samples s) {
    return flopsPerGemm() * reps / s.median() / 1e9;
  }

  /** Measured alone: the machine-baseline table. */
  static double gflops(int n) throws Exception {
    try (SgemmBaseline s = new SgemmBaseline(n)) {
      return s.gflops(Timing.measure(s.action()));
    }
  }

  @Override
  public void close() {
    a.close();
    b.close();
    c.close();
  }
}

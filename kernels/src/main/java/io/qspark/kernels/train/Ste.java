package io.qspark.kernels.train;

import io.qspark.kernels.simd.VectorApi;
import io.qspark.kernels.quant.FixPoint;

/**
 * The straight-through estimator of fake-quant: rounding passes the gradient unchanged,
 * saturation stops it. A value counts as inside when it lies within the representable range
 * [qmin, qmax] * 2^-fp (TQT's convention: zero gradient outside the range).
 */
public final class Ste {
  private Ste() {}

  /** g[i] = 0 where x[i] saturates under q, for i in [from, to). */
  public static void mask(FixPoint q, float[] x, float[] g, int from, int to) {
    float lo = (float) (q.qmin() * q.step()), hi = (float) (q.qmax() * q.step());
    if (VectorApi.PRESENT) from = SimdMasks.inside(x, g, from, to, lo, hi);
    for (int i = from; i < to; i++) if (!(x[i] >= lo && x[i] <= hi)) g[i] = 0f;
  }
}

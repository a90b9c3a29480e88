package io.qspark.kernels.quant;

/**
 * The fake-quant kernel: x to q * step with q = x / step rounded and saturated, in float (for a
 * power-of-two step the division is the exact multiplication by 2^fp; for a float step it is
 * ONNX QuantizeLinear's arithmetic). Used wherever a
 * quantized value is computed (calibration's sequential mode, evaluation, fine-tuning, QAT), so
 * that the float simulation and the integer simulator agree by construction. Bit-exact with
 * {@link FixPoint#fake} (tested), which is the plain reference. NaN becomes 0, the integer
 * {@link FixPoint#quantize} and the DPU make of it (a CPU layer's 0/0 reaching a quantization
 * point); callers that must not see NaN check for it where data enters.
 */
public final class FakeQuant {
  private FakeQuant() {}

  /** dst[i] = fake(src[i]) for i in [from, to); src and dst may be the same array. */
  public static void apply(FixPoint q, float[] src, float[] dst, int from, int to) {
    float step = q.step();
    // clamp before rounding so every intermediate is small; the + 0.5 is done in double, where
    // it is exact (in float, 0.49999997f + 0.5f rounds up to 1)
    float lo = q.qmin() - 1f, hi = q.qmax() + 1f;
    float qlo = q.qmin(), qhi = q.qmax();
    // the vector rounding needs |v| < 2^22: wider (32-bit bias) quantizers take the scalar loops
    if (io.qspark.kernels.simd.VectorApi.PRESENT && q.bits() <= FixPoint.MAX_BITS) {
      from = FakeQuantSimd.apply(q, src, dst, from, to);
    }
    switch (q.rounding()) {
      case HALF_UP:
        for (int i = from; i < to; i++) {
          float v = Math.min(Math.max(src[i] / step, lo), hi);
          if (v != v) v = 0f;
          v = (float) Math.floor(v + 0.5);
          dst[i] = Math.min(Math.max(v, qlo), qhi) * step;
        }
        break;
      case HALF_AWAY:
        for (int i = from; i < to; i++) {
          float v = Math.min(Math.max(src[i] / step, lo), hi);
          if (v != v) v = 0f;
          float r = (float) Math.floor(Math.abs(v) + 0.5);
          v = Math.copySign(r, v) + 0f; // + 0f turns -0.0 into 0.0, as the reference gives
          dst[i] = Math.min(Math.max(v, qlo), qhi) * step;
        }
        break;
      case HALF_EVEN:
        for (int i = from; i < to; i++) {
          float v = Math.min(Math.max(src[i] / step, lo), hi);
          if (v != v) v = 0f;
          v = (float) Math.rint(v) + 0f;
          dst[i] = Math.min(Math.max(v, qlo), qhi) * step;
        }
        break;
      default:
        throw new AssertionError(q.rounding());
    }
  }

  /** Integers instead of their values, for the deploy model and the simulator's checks. */
  public static void toIntegers(FixPoint q, float[] src, int[] dst, int from, int to) {
    for (int i = from; i < to; i++) dst[i] = q.quantize(src[i]);
  }
}

package io.qspark.kernels.quant;

/**
 * Signed symmetric power-of-two quantization: an integer q in [-2^(b-1), 2^(b-1)-1] stands
 * for q * 2^-fp, where fp (Vitis AI's "fix_point", the number of fractional bits) may be
 * negative for large ranges. Immutable value: bits, fix_point and rounding.
 */
public record FixPoint(int bits, int fixPoint, Rounding rounding, boolean signed) implements java.io.Serializable {
  public static final int MIN_BITS = 2;
  public static final int MAX_BITS = 16;

  public FixPoint {
    if (bits < MIN_BITS || bits > MAX_BITS) {
      throw new IllegalArgumentException("bit width " + bits + " outside " + MIN_BITS + ".." + MAX_BITS);
    }
    if (fixPoint < -64 || fixPoint > 64) throw new IllegalArgumentException("fix_point " + fixPoint);
  }

  /** Signed, as the DPU computes; unsigned is an experimental option that deploy refuses. */
  public FixPoint(int bits, int fixPoint, Rounding rounding) {
    this(bits, fixPoint, rounding, true);
  }

  public int qmin() {
    return signed ? -(1 << (bits - 1)) : 0;
  }

  public int qmax() {
    return signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  }

  /** The value of one integer step, 2^-fp. */
  public double step() {
    return Math.scalb(1.0, -fixPoint);
  }

  /** The largest representable magnitude on the positive side, qmax * 2^-fp. */
  public double maxValue() {
    return qmax() * step();
  }

  /** The integer for x: scaled exactly by 2^fp, rounded, saturated. NaN maps to 0. */
  public int quantize(double x) {
    double v = Math.scalb(x, fixPoint);
    if (Double.isNaN(v)) return 0;
    v = Math.max(qmin() - 1.0, Math.min(qmax() + 1.0, v));
    return (int) Math.max(qmin(), Math.min(qmax(), rounding.round(v)));
  }

  public double dequantize(int q) {
    return Math.scalb((double) q, -fixPoint);
  }

  /** quantize then dequantize: what the hardware's value of x is. */
  public float fake(float x) {
    if (Float.isNaN(x)) return x;
    return (float) dequantize(quantize(x));
  }

  /**
   * The largest fix_point at which [min, max] does not overflow, Vitis' no-overflow position:
   * step = max(min / (qmin - 0.5), max / (qmax + 0.5)), fp = floor(log2(1 / step)). The half
   * step is the rounding margin: values up to qmax + 0.5 still round to qmax.
   */
  public static int noOverflow(double min, double max, int bits) {
    return noOverflow(min, max, bits, true);
  }

  /** The same for a signed or unsigned range (unsigned: negative values always saturate at 0). */
  public static int noOverflow(double min, double max, int bits, boolean signed) {
    FixPoint f = new FixPoint(bits, 0, Rounding.HALF_UP, signed);
    double qmin = f.qmin() - 0.5;
    double qmax = f.qmax() + 0.5;
    double lo = signed ? min : 0;
    double step = Math.max(lo / qmin, max / qmax);
    if (!(step > 0)) return maxFixPointFor(bits);
    int fp = (int) Math.floor(-Math.log(step) / Math.log(2));
    // log2 in floating point can land one off at exact powers of two: settle it exactly
    while (overflows(lo, max, qmin, qmax, fp)) fp--;
    while (!overflows(lo, max, qmin, qmax, fp + 1)) fp++;
    return Math.min(fp, maxFixPointFor(bits));
  }

  private static boolean overflows(double min, double max, double qmin, double qmax, int fp) {
    double s = Math.scalb(1.0, fp);
    return max * s > qmax || min * s < qmin;
  }

  /** Vitis caps activation fix_points (12 for b <= 8) so all-zero tensors stay sane. */
  public static int maxFixPointFor(int bits) {
    return bits <= 8 ? 12 : 12 + (bits - 8);
  }

  @Override
  public String toString() {
    return (signed ? "int" : "uint") + bits + " fp=" + fixPoint + " (" + rounding.key() + ")";
  }
}

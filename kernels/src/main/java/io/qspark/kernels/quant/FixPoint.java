package io.qspark.kernels.quant;

/**
 * Symmetric linear quantization: an integer q in [-2^(b-1), 2^(b-1)-1] (or [0, 2^b-1]
 * unsigned) stands for q * step. On the DPU the step is a power of two, 2^-fp, where fp (Vitis
 * AI's "fix_point", the number of fractional bits) may be negative for large ranges; other
 * targets take any float step (ONNX's scale), and {@link #fixPoint()} is then undefined.
 * Values are scaled by dividing by the step in float, as ONNX QuantizeLinear does; for a power
 * of two that equals the exact multiplication by 2^fp. Immutable value.
 */
public record FixPoint(int bits, int fixPoint, Rounding rounding, boolean signed, float step) implements java.io.Serializable {
  public static final int MIN_BITS = 2;
  public static final int MAX_BITS = 16;
  /** The widest fix_point a power-of-two quantizer takes, either sign (2^-64 .. 2^64 steps). */
  public static final int MAX_FIX_POINT = 64;
  /** Float steps also allow ONNX's 32-bit biases. */
  public static final int MAX_FLOAT_STEP_BITS = 32;
  /** The fix_point field of a quantizer whose step is not a power of two. */
  private static final int NO_FIX_POINT = Integer.MIN_VALUE;

  public FixPoint {
    boolean pow2 = fixPoint != NO_FIX_POINT;
    int maxBits = pow2 ? MAX_BITS : MAX_FLOAT_STEP_BITS;
    if (bits < MIN_BITS || bits > maxBits || bits > MAX_BITS && !signed) {
      throw new IllegalArgumentException("bit width " + bits + " outside " + MIN_BITS + ".." + maxBits);
    }
    if (pow2 && (fixPoint < -MAX_FIX_POINT || fixPoint > MAX_FIX_POINT)) throw new IllegalArgumentException("fix_point " + fixPoint);
    if (pow2 && step != Math.scalb(1f, -fixPoint)) throw new IllegalArgumentException("step " + step + " is not 2^-" + fixPoint);
    if (!(step > 0 && step < Float.POSITIVE_INFINITY)) throw new IllegalArgumentException("step " + step);
  }

  /** A power-of-two quantizer: step 2^-fixPoint. */
  public FixPoint(int bits, int fixPoint, Rounding rounding, boolean signed) {
    this(bits, fixPoint, rounding, signed, Math.scalb(1f, -fixPoint));
  }

  /** A quantizer with any positive float step (a non-DPU target's scale). */
  public static FixPoint ofStep(int bits, float step, Rounding rounding, boolean signed) {
    return new FixPoint(bits, NO_FIX_POINT, rounding, signed, step);
  }

  /** Whether the step is 2^-fixPoint (a DPU quantizer) rather than a float scale. */
  public boolean powerOfTwo() {
    return fixPoint != NO_FIX_POINT;
  }

  /** The fix_point; only a power-of-two quantizer has one. */
  @Override
  public int fixPoint() {
    if (!powerOfTwo()) throw new IllegalStateException(this + " has a float step, no fix_point");
    return fixPoint;
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

  /** The largest representable magnitude on the positive side, qmax * 2^-fp. */
  public double maxValue() {
    return qmax() * (double) step;
  }

  /**
   * The integer for x: scaled (exactly by 2^fp, or by a float division as ONNX), rounded,
   * saturated. NaN maps to 0.
   */
  public int quantize(double x) {
    double v = powerOfTwo() ? Math.scalb(x, fixPoint) : (float) x / step;
    if (Double.isNaN(v)) return 0;
    v = Math.max(qmin() - 1.0, Math.min(qmax() + 1.0, v));
    return (int) Math.max(qmin(), Math.min(qmax(), rounding.round(v)));
  }

  public double dequantize(int q) {
    return powerOfTwo() ? Math.scalb((double) q, -fixPoint) : (float) q * step;
  }

  /** quantize then dequantize: what the hardware's value of x is. */
  public float fake(float x) {
    return (float) dequantize(quantize(x)); // NaN: quantize gives 0
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
    return (signed ? "int" : "uint") + bits + (powerOfTwo() ? " fp=" + fixPoint : " scale=" + step) + " (" + rounding.key() + ")";
  }
}

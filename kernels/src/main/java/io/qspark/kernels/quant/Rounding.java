package io.qspark.kernels.quant;

/**
 * How a scaled value becomes an integer. The DPU rounds activations half toward +infinity
 * (-2.5 to -2, 2.5 to 3); Vitis AI rounds weights, biases and the network input half away
 * from zero (std::round); ONNX QuantizeLinear rounds half to even.
 */
public enum Rounding {
  /** floor(v + 0.5): the DPU's activation rounding. */
  HALF_UP,
  /** Half away from zero, as C's round(). */
  HALF_AWAY,
  /** Half to even, as IEEE and ONNX QuantizeLinear. */
  HALF_EVEN;

  /** The integer nearest to v under this rule (v finite; ties resolved as named). */
  public double round(double v) {
    switch (this) {
      case HALF_UP:
        return Math.floor(v + 0.5);
      case HALF_AWAY:
        return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
      case HALF_EVEN:
        return Math.rint(v);
      default:
        throw new AssertionError(this);
    }
  }

  /** Names as configs and reports spell them. */
  public String key() {
    return name().toLowerCase().replace('_', '-');
  }

  public static Rounding parse(String s) {
    for (Rounding r : values()) if (r.key().equals(s) || r.name().equalsIgnoreCase(s)) return r;
    throw new IllegalArgumentException("unknown rounding '" + s + "' (half-up, half-away, half-even)");
  }
}

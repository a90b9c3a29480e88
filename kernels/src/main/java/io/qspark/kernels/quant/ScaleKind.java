package io.qspark.kernels.quant;

/**
 * What a quantizer's step may be. The DPU shifts, so its steps are powers of two (a fix_point);
 * other targets multiply by any float scale, as ONNX QuantizeLinear does.
 */
public enum ScaleKind {
  POWER_OF_TWO,
  /** step = threshold / qmax for the threshold the method chooses; biases take s_in * s_w, 32-bit. */
  FLOAT;

  public String key() {
    return name().toLowerCase().replace('_', '-');
  }

  public static ScaleKind parse(String s) {
    for (ScaleKind k : values()) if (k.key().equals(s) || k.name().equalsIgnoreCase(s)) return k;
    throw new IllegalArgumentException("unknown scales '" + s + "' (power-of-two, float)");
  }
}

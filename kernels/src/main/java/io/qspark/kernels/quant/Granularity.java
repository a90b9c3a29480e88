package io.qspark.kernels.quant;

/**
 * How many quantizers a weight has. The DPU has one per tensor; most other targets (ONNX
 * Runtime, TensorRT, TFLite) take one per output channel, which keeps channels with small
 * weights from losing their resolution to the largest channel.
 */
public enum Granularity {
  PER_TENSOR,
  /** One quantizer per output channel of a Conv/Gemm/MatMul weight (and of its bias, with float scales). */
  PER_CHANNEL;

  public String key() {
    return name().toLowerCase().replace('_', '-');
  }

  public static Granularity parse(String s) {
    for (Granularity g : values()) if (g.key().equals(s) || g.name().equalsIgnoreCase(s)) return g;
    throw new IllegalArgumentException("unknown weight granularity '" + s + "' (per-tensor, per-channel)");
  }
}

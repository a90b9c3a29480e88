package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Elementwise activations. Each kind has its own loop (a switch outside the loop, not a lambda
 * inside it) so the JIT compiles every one to a tight, inlined kernel.
 */
public final class Activation implements Op {
  public enum Kind { RELU, CLIP, LEAKY_RELU, SIGMOID, HARD_SIGMOID, HARD_SWISH, TANH, IDENTITY }

  private final Kind kind;
  private final float alpha;
  private final float beta;
  private final float lo;
  private final float hi;
  /** Dropout's mask is float before opset 10 and bool (held as int64) since. */
  private final boolean floatMask;

  private Activation(Kind kind, float alpha, float beta, float lo, float hi) {
    this(kind, alpha, beta, lo, hi, false);
  }

  private Activation(Kind kind, float alpha, float beta, float lo, float hi, boolean floatMask) {
    this.floatMask = floatMask;
    this.kind = kind;
    this.alpha = alpha;
    this.beta = beta;
    this.lo = lo;
    this.hi = hi;
  }

  public static Activation of(String opType, Attributes a) {
    switch (opType) {
      case "Relu": return new Activation(Kind.RELU, 0, 0, 0, 0);
      case "LeakyRelu": return new Activation(Kind.LEAKY_RELU, a.getFloat("alpha", 0.01f), 0, 0, 0);
      case "Sigmoid": return new Activation(Kind.SIGMOID, 0, 0, 0, 0);
      case "HardSigmoid":
        return new Activation(Kind.HARD_SIGMOID, a.getFloat("alpha", 0.2f), a.getFloat("beta", 0.5f), 0, 0);
      case "HardSwish": return new Activation(Kind.HARD_SWISH, 1f / 6, 0.5f, 0, 0);
      case "Tanh": return new Activation(Kind.TANH, 0, 0, 0, 0);
      case "Identity":
        return new Activation(Kind.IDENTITY, 0, 0, 0, 0);
      case "Dropout":
        return new Activation(Kind.IDENTITY, 0, 0, 0, 0, a.opset() < 10);
      case "Clip":
        // opset < 11 carries min/max as attributes; later opsets as optional inputs
        return new Activation(Kind.CLIP, 0, 0, a.getFloat("min", Float.NEGATIVE_INFINITY),
            a.getFloat("max", Float.POSITIVE_INFINITY));
      default: throw new IllegalArgumentException(opType);
    }
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor t = in[0];
    if (kind == Kind.IDENTITY) {
      // opset 12+ Dropout: inputs (data, ratio, training_mode); training is random, not ours
      boolean training = in.length > 2 && in[2] != null && in[2].asLongs()[0] != 0;
      float ratio = in.length > 1 && in[1] != null ? in[1].asFloats()[0] : 0.5f;
      if (training && ratio > 0) {
        throw new OpException("Dropout: training_mode=true with ratio " + ratio
            + " is random; qspark runs Dropout in inference mode only");
      }
      // Dropout's optional mask output is all ones (true) at inference
      Tensor mask = floatMask ? Tensor.of(filled(t.size(), 1f), t.shape())
          : Tensor.ofLongs(filledLongs(t.size(), 1L), t.shape());
      return new Tensor[] {t, mask};
    }
    float[] x = t.data();
    float[] y = new float[x.length];
    int n = x.length;
    switch (kind) {
      case RELU:
        for (int i = 0; i < n; i++) y[i] = x[i] > 0f ? x[i] : 0f;
        break;
      case LEAKY_RELU:
        for (int i = 0; i < n; i++) y[i] = x[i] >= 0f ? x[i] : x[i] * alpha;
        break;
      case CLIP: {
        float l = in.length > 1 && in[1] != null ? in[1].asFloats()[0] : lo;
        float h = in.length > 2 && in[2] != null ? in[2].asFloats()[0] : hi;
        for (int i = 0; i < n; i++) y[i] = Math.min(Math.max(x[i], l), h);
        break;
      }
      case SIGMOID:
        for (int i = 0; i < n; i++) y[i] = (float) (1.0 / (1.0 + Math.exp(-x[i])));
        break;
      case HARD_SIGMOID:
        for (int i = 0; i < n; i++) y[i] = Math.max(0f, Math.min(1f, alpha * x[i] + beta));
        break;
      case HARD_SWISH:
        for (int i = 0; i < n; i++) y[i] = x[i] * Math.max(0f, Math.min(1f, alpha * x[i] + beta));
        break;
      case TANH:
        for (int i = 0; i < n; i++) y[i] = (float) Math.tanh(x[i]);
        break;
      default:
        throw new AssertionError(kind);
    }
    return new Tensor[] {Tensor.of(y, t.shape())};
  }

  private static float[] filled(int n, float v) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  private static long[] filledLongs(int n, long v) {
    long[] a = new long[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  @Override
  public String describe() {
    switch (kind) {
      case LEAKY_RELU: return "alpha=" + alpha;
      case CLIP: return lo == Float.NEGATIVE_INFINITY && hi == Float.POSITIVE_INFINITY ? "" : "[" + lo + "," + hi + "]";
      default: return "";
    }
  }
}

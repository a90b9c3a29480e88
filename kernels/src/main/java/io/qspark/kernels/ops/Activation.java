package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * Elementwise activations, as ops of their own or fused into the producing Conv/Gemm (the
 * {@code activation} attribute that {@code FuseActivation} sets, as the DPU fuses them).
 * Each kind has its own loop (a switch outside the loop, not a lambda inside it) so the JIT
 * compiles every one to a tight kernel.
 */
public final class Activation implements Op {
  public enum Kind { RELU, CLIP, LEAKY_RELU, SIGMOID, HARD_SIGMOID, HARD_SWISH, SILU, TANH, IDENTITY }

  /**
   * SiLU (x·sigmoid(x), YOLOv5's activation) has no ONNX op below opset 24: exports spell it
   * Sigmoid·Mul, which the importer recognizes ({@code GatedActivations}) as this op of qspark's
   * own domain; the exporter writes it back as Sigmoid·Mul.
   */
  public static final String SILU = "Silu";

  /** Attribute names a fused producer carries. */
  public static final String FUSED = "activation";
  public static final String FUSED_ALPHA = "activation_alpha";
  public static final String FUSED_MIN = "activation_min";
  public static final String FUSED_MAX = "activation_max";

  private final Kind kind;
  private final String opType;
  private final float alpha;
  private final float beta;
  private final float lo;
  private final float hi;
  /** Dropout's mask is float before opset 10 and bool (held as int64) since. */
  private final boolean floatMask;

  private Activation(Kind kind, String opType, float alpha, float beta, float lo, float hi) {
    this(kind, opType, alpha, beta, lo, hi, false);
  }

  private Activation(Kind kind, String opType, float alpha, float beta, float lo, float hi,
      boolean floatMask) {
    this.floatMask = floatMask;
    this.kind = kind;
    this.opType = opType;
    this.alpha = alpha;
    this.beta = beta;
    this.lo = lo;
    this.hi = hi;
  }

  public static Activation of(String opType, Attributes a) {
    switch (opType) {
      case "Relu": return new Activation(Kind.RELU, opType, 0, 0, 0, 0);
      case "LeakyRelu": return new Activation(Kind.LEAKY_RELU, opType, a.getFloat("alpha", 0.01f), 0, 0, 0);
      case "Sigmoid": return new Activation(Kind.SIGMOID, opType, 0, 0, 0, 0);
      case "HardSigmoid":
        return new Activation(Kind.HARD_SIGMOID, opType, a.getFloat("alpha", 0.2f), a.getFloat("beta", 0.5f), 0, 0);
      case "HardSwish": return new Activation(Kind.HARD_SWISH, opType, 1f / 6, 0.5f, 0, 0);
      case SILU: return new Activation(Kind.SILU, opType, 0, 0, 0, 0);
      case "Tanh": return new Activation(Kind.TANH, opType, 0, 0, 0, 0);
      case "Identity":
        return new Activation(Kind.IDENTITY, opType, 0, 0, 0, 0);
      case "Dropout":
        return new Activation(Kind.IDENTITY, opType, 0, 0, 0, 0, a.opset() < 10);
      case "Clip":
        // opset < 11 carries min/max as attributes; later opsets as optional inputs
        return new Activation(Kind.CLIP, opType, 0, 0, a.getFloat("min", Float.NEGATIVE_INFINITY),
            a.getFloat("max", Float.POSITIVE_INFINITY));
      default: throw new IllegalArgumentException(opType);
    }
  }

  /** Clip with known bounds (ReLU6 is [0, 6]). */
  public static Activation clip(float lo, float hi) {
    return new Activation(Kind.CLIP, "Clip", 0, 0, lo, hi);
  }

  /** The activation fused into a producer's attributes, or null. */
  public static Activation fused(Attributes a) {
    String t = a.getString(FUSED, null);
    if (t == null) return null;
    if (t.equals("Clip")) return clip(a.getFloat(FUSED_MIN, Float.NEGATIVE_INFINITY), a.getFloat(FUSED_MAX, Float.POSITIVE_INFINITY));
    return of(t, new Attributes(java.util.Map.of("alpha", a.getFloat(FUSED_ALPHA, 0.01f))));
  }

  /** The producer's attributes with this activation fused in. */
  public Attributes fuseInto(Attributes a) {
    Attributes r = a.with(FUSED, opType);
    if (kind == Kind.LEAKY_RELU) r = r.with(FUSED_ALPHA, alpha);
    if (kind == Kind.CLIP) r = r.with(FUSED_MIN, lo).with(FUSED_MAX, hi);
    return r;
  }

  /** Whether it can be fused: a pure function of one value with constant parameters. */
  public boolean fusible() {
    return kind == Kind.RELU || kind == Kind.CLIP || kind == Kind.LEAKY_RELU;
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
      int n = t.size();
      Tensor mask;
      if (floatMask) {
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        mask = Tensor.of(ones, t.shape());
      } else {
        long[] ones = new long[n];
        java.util.Arrays.fill(ones, 1L);
        mask = Tensor.ofLongs(ones, t.shape());
      }
      return new Tensor[] {t, mask};
    }
    if (kind == Kind.RELU && Conv.SIMD) {
      float[] x = t.data();
      float[] y = Arena.overwritten(x.length);
      SimdLoops.relu(x, y, 0, x.length);
      return new Tensor[] {Tensor.of(y, t.shape())};
    }
    float[] y = Arena.overwritten(t.size());
    System.arraycopy(t.data(), 0, y, 0, y.length);
    if (kind == Kind.CLIP && (in.length > 1 && in[1] != null || in.length > 2 && in[2] != null)) {
      float l = in.length > 1 && in[1] != null ? in[1].asFloats()[0] : lo;
      float h = in.length > 2 && in[2] != null ? in[2].asFloats()[0] : hi;
      clip(l, h).apply(y, 0, y.length);
    } else {
      apply(y, 0, y.length);
    }
    return new Tensor[] {Tensor.of(y, t.shape())};
  }

  /** Applies the activation to y[from, to) in place. */
  public void apply(float[] y, int from, int to) {
    switch (kind) {
      case RELU:
        // branch-free: the sign of activations is a coin flip, and a mispredicted branch per
        // element costs more than the arithmetic; clearing negatives by their sign mask does not
        for (int i = from; i < to; i++) {
          int bits = Float.floatToRawIntBits(y[i]);
          y[i] = Float.intBitsToFloat(bits & ~(bits >> 31));
        }
        break;
      case LEAKY_RELU:
        for (int i = from; i < to; i++) y[i] = y[i] >= 0f ? y[i] : y[i] * alpha;
        break;
      case CLIP:
        for (int i = from; i < to; i++) y[i] = Math.min(Math.max(y[i], lo), hi);
        break;
      case SIGMOID:
        for (int i = from; i < to; i++) y[i] = (float) (1.0 / (1.0 + Math.exp(-y[i])));
        break;
      case HARD_SIGMOID:
        for (int i = from; i < to; i++) y[i] = Math.max(0f, Math.min(1f, alpha * y[i] + beta));
        break;
      case HARD_SWISH:
        for (int i = from; i < to; i++) y[i] = y[i] * Math.max(0f, Math.min(1f, alpha * y[i] + beta));
        break;
      case SILU:
        // the float a Sigmoid node then a Mul node compute, value for value
        for (int i = from; i < to; i++) y[i] = y[i] * (float) (1.0 / (1.0 + Math.exp(-y[i])));
        break;
      case TANH:
        for (int i = from; i < to; i++) y[i] = (float) Math.tanh(y[i]);
        break;
      case IDENTITY:
        break;
      default:
        throw new AssertionError(kind);
    }
  }

  @Override
  public String describe() {
    switch (kind) {
      case LEAKY_RELU: return "alpha=" + alpha;
      case CLIP: return lo == Float.NEGATIVE_INFINITY && hi == Float.POSITIVE_INFINITY ? "" : "[" + fmt(lo) + "," + fmt(hi) + "]";
      default: return "";
    }
  }

  public String opType() {
    return opType;
  }

  public float alpha() {
    return alpha;
  }

  /** HardSigmoid's and HardSwish's offset: clip(alpha·x + beta, 0, 1). */
  public float beta() {
    return beta;
  }

  /** Clip bounds. */
  public float lo() {
    return lo;
  }

  public float hi() {
    return hi;
  }

  /** How a fused activation reads in the inspector, e.g. "+Relu", "+Clip[0,6]". */
  public String suffix() {
    String d = describe();
    return "+" + opType + (d.isEmpty() ? "" : kind == Kind.CLIP ? d : "(" + d + ")");
  }

  private static String fmt(float v) {
    return v == Math.rint(v) ? Integer.toString((int) v) : Float.toString(v);
  }
}

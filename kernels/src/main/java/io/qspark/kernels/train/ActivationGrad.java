package io.qspark.kernels.train;

import io.qspark.kernels.simd.VectorApi;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of the piecewise-linear activations the DPU runs (ReLU, ReLU6/Clip, LeakyReLU) and
 * of Identity/Dropout, standalone or fused into a Conv/Gemm, and of the smooth and gated ones
 * detectors and segmenters use (Sigmoid, SiLU, HardSigmoid, HardSwish, Tanh), standalone. At a
 * kink the gradient is PyTorch's: that of the flat side for ReLU (ReLU'(0) = 0), Clip and
 * HardSigmoid (passed only strictly inside their bounds); HardSwish's is 0 below −3,
 * x/3 + 1/2 on [−3, 3] and 1 above (PyTorch's hardswish_backward, written with its alpha and
 * beta). Smooth derivatives are computed in double from the input, as the forward computes the
 * activation, and rounded once.
 */
public final class ActivationGrad implements OpGrad {
  private final Activation act;

  /** Every kind of {@link Activation}, standalone. */
  public ActivationGrad(Activation act) {
    this.act = act;
  }

  /** Whether a fused activation has a gradient: one computed from its output alone, all a producer keeps. */
  static boolean differentiable(Activation act) {
    return act.fusible() || act.kind() == Activation.Kind.IDENTITY;
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    float[] g = dy.data().clone();
    Activation a = act;
    if (act.kind() == Activation.Kind.CLIP && (in.length > 1 && in[1] != null || in.length > 2 && in[2] != null)) {
      a = Activation.clip(in.length > 1 && in[1] != null ? in[1].asFloats()[0] : act.lo(),
          in.length > 2 && in[2] != null ? in[2].asFloats()[0] : act.hi());
    }
    fromInput(a, in[0].data(), g, 0, g.length);
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(g, in[0].shape());
    return r;
  }

  /** g[i] *= act'(x[i]) for the pre-activation x. */
  public static void fromInput(Activation a, float[] x, float[] g, int from, int to) {
    switch (a.kind()) {
      case RELU:
        if (VectorApi.PRESENT) from = SimdMasks.positive(x, g, from, to);
        for (int i = from; i < to; i++) if (!(x[i] > 0f)) g[i] = 0f;
        break;
      case CLIP: {
        float lo = a.lo(), hi = a.hi();
        if (VectorApi.PRESENT) from = SimdMasks.strictlyInside(x, g, from, to, lo, hi);
        for (int i = from; i < to; i++) if (!(x[i] > lo && x[i] < hi)) g[i] = 0f;
        break;
      }
      case LEAKY_RELU: {
        float alpha = a.alpha();
        for (int i = from; i < to; i++) if (!(x[i] >= 0f)) g[i] *= alpha;
        break;
      }
      case SIGMOID:
        for (int i = from; i < to; i++) {
          double sg = 1.0 / (1.0 + Math.exp(-x[i]));
          g[i] = (float) (g[i] * (sg * (1 - sg)));
        }
        break;
      case SILU:
        // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
        for (int i = from; i < to; i++) {
          double sg = 1.0 / (1.0 + Math.exp(-x[i]));
          g[i] = (float) (g[i] * (sg * (1 + x[i] * (1 - sg))));
        }
        break;
      case HARD_SIGMOID: {
        float alpha = a.alpha(), beta = a.beta();
        for (int i = from; i < to; i++) {
          float u = alpha * x[i] + beta;
          g[i] = u > 0f && u < 1f ? g[i] * alpha : 0f;
        }
        break;
      }
      case HARD_SWISH: {
        // y = x·clip(αx + β, 0, 1): 0 below the ramp, 2αx + β on it, 1 above
        float alpha = a.alpha(), beta = a.beta();
        for (int i = from; i < to; i++) {
          float u = alpha * x[i] + beta; // the side of the ramp as the forward pass decides it
          g[i] = u < 0f ? 0f : u <= 1f ? (float) (g[i] * (2.0 * alpha * x[i] + beta)) : g[i];
        }
        break;
      }
      case TANH:
        for (int i = from; i < to; i++) {
          double t = Math.tanh(x[i]);
          g[i] = (float) (g[i] * (1 - t * t));
        }
        break;
      case IDENTITY:
        break;
      default:
        throw new OpException("no gradient for activation " + a.opType());
    }
  }

  /**
   * The same from the activation's output, for activations fused into a Conv/Gemm whose
   * pre-activation is not kept: every DPU activation is monotonic with a positive slope
   * (LeakyReLU's alpha > 0), so the output tells the side of the kink.
   */
  public static void fromOutput(Activation a, float[] y, float[] g, int from, int to) {
    if (a == null) return;
    switch (a.kind()) {
      case RELU:
        if (VectorApi.PRESENT) from = SimdMasks.positive(y, g, from, to);
        for (int i = from; i < to; i++) if (!(y[i] > 0f)) g[i] = 0f;
        break;
      case CLIP: {
        float lo = a.lo(), hi = a.hi();
        if (VectorApi.PRESENT) from = SimdMasks.strictlyInside(y, g, from, to, lo, hi);
        for (int i = from; i < to; i++) if (!(y[i] > lo && y[i] < hi)) g[i] = 0f;
        break;
      }
      case LEAKY_RELU: {
        if (!(a.alpha() > 0f)) throw new OpException("fused LeakyRelu with alpha " + a.alpha() + " <= 0 has no gradient from its output");
        float alpha = a.alpha();
        for (int i = from; i < to; i++) if (!(y[i] >= 0f)) g[i] *= alpha;
        break;
      }
      case IDENTITY:
        break;
      default:
        throw new OpException("no gradient for fused activation " + a.opType());
    }
  }
}

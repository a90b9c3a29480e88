package io.qspark.kernels.train;

import io.qspark.kernels.ops.Unary;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of the elementwise math converters emit (Sqrt, Reciprocal, Neg, Exp, Log, Abs),
 * each derivative computed in double from the input and rounded once. Abs passes sign(x), 0 at
 * 0 (PyTorch's).
 */
public final class UnaryGrad implements OpGrad {
  private final Unary.Kind kind;

  public UnaryGrad(String opType) {
    this.kind = new Unary(opType).kind();
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    float[] x = in[0].data(), dy = dyT.data(), dx = new float[dy.length];
    for (int i = 0; i < dx.length; i++) {
      double v = x[i], g = dy[i];
      double d;
      switch (kind) {
        case SQRT: d = g * 0.5 / Math.sqrt(v); break;
        case RECIPROCAL: d = -g / (v * v); break;
        case NEG: d = -g; break;
        case EXP: d = g * Math.exp(v); break;
        case LOG: d = g / v; break;
        case ABS: d = g * Math.signum(v); break;
        default: throw new AssertionError(kind);
      }
      dx[i] = (float) d;
    }
    return new Tensor[] {Tensor.of(dx, in[0].shape())};
  }
}

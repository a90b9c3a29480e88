package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * Elementwise math of one float tensor that is not an activation: Sqrt, Reciprocal, Neg, Exp,
 * Log, Abs (what converters emit for decomposed normalizations). Each value is computed in
 * double and rounded once to float. Neg and Abs also take int64.
 */
public final class Unary implements Op {
  public enum Kind { SQRT, RECIPROCAL, NEG, EXP, LOG, ABS }

  private final Kind kind;

  public Unary(String opType) {
    switch (opType) {
      case "Sqrt": kind = Kind.SQRT; break;
      case "Reciprocal": kind = Kind.RECIPROCAL; break;
      case "Neg": kind = Kind.NEG; break;
      case "Exp": kind = Kind.EXP; break;
      case "Log": kind = Kind.LOG; break;
      case "Abs": kind = Kind.ABS; break;
      default: throw new IllegalArgumentException(opType);
    }
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor t = in[0];
    if (!t.isFloat()) {
      if (kind != Kind.NEG && kind != Kind.ABS) throw new OpException(kind + " of an integer tensor is not supported");
      long[] x = t.longs(), y = new long[x.length];
      for (int i = 0; i < x.length; i++) y[i] = kind == Kind.NEG ? -x[i] : Math.abs(x[i]);
      return new Tensor[] {Tensor.ofLongs(y, t.shape())};
    }
    float[] x = t.data(), y = Arena.floats(x.length);
    switch (kind) {
      case SQRT: for (int i = 0; i < x.length; i++) y[i] = (float) Math.sqrt(x[i]); break;
      case RECIPROCAL: for (int i = 0; i < x.length; i++) y[i] = 1f / x[i]; break;
      case NEG: for (int i = 0; i < x.length; i++) y[i] = -x[i]; break;
      case EXP: for (int i = 0; i < x.length; i++) y[i] = (float) Math.exp(x[i]); break;
      case LOG: for (int i = 0; i < x.length; i++) y[i] = (float) Math.log(x[i]); break;
      case ABS: for (int i = 0; i < x.length; i++) y[i] = Math.abs(x[i]); break;
      default: throw new AssertionError(kind);
    }
    return new Tensor[] {Tensor.of(y, t.shape())};
  }
}

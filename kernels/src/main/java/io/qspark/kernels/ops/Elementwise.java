package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/** Binary arithmetic with numpy broadcasting: Add, Sub, Mul, Div, PRelu, and Max/Min for {@link Variadic}. */
public final class Elementwise implements Op {
  public enum Kind { ADD, SUB, MUL, DIV, PRELU, MAX, MIN }

  private final Kind kind;

  public Elementwise(Kind kind) {
    this.kind = kind;
  }

  public static Elementwise of(String opType) {
    switch (opType) {
      case "Add": return new Elementwise(Kind.ADD);
      case "Sub": return new Elementwise(Kind.SUB);
      case "Mul": return new Elementwise(Kind.MUL);
      case "Div": return new Elementwise(Kind.DIV);
      case "PRelu": return new Elementwise(Kind.PRELU);
      default: throw new IllegalArgumentException(opType);
    }
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor a = in[0];
    Tensor b = in[1];
    if (!a.isFloat() && !b.isFloat()) return new Tensor[] {integer(a, b)};
    int[] shape = Shapes.broadcast(a.shape(), b.shape());
    if (kind == Kind.PRELU && !java.util.Arrays.equals(shape, a.shape())) {
      // ONNX PRelu broadcasts slope to X only ("unidirectional")
      throw new OpException("PRelu: slope " + Tensor.shapeString(b.shape())
          + " does not broadcast to input " + Tensor.shapeString(a.shape()));
    }
    float[] x = a.asFloats();
    float[] z = b.asFloats();
    float[] y = Arena.overwritten(Shapes.size(shape)); // each path assigns every element
    if (x.length == y.length && z.length == y.length) {
      if (kind == Kind.ADD && Conv.SIMD) {
        SimdLoops.add(x, z, y);
      } else {
        same(x, z, y);
      }
    } else if (x.length == y.length && z.length == 1) {
      scalar(x, z[0], y);
    } else {
      general(x, Shapes.broadcastStrides(a.shape(), shape), z,
          Shapes.broadcastStrides(b.shape(), shape), y, shape);
    }
    return new Tensor[] {Tensor.of(y, shape)};
  }

  private void same(float[] x, float[] z, float[] y) {
    int n = y.length;
    switch (kind) {
      case ADD: for (int i = 0; i < n; i++) y[i] = x[i] + z[i]; break;
      case SUB: for (int i = 0; i < n; i++) y[i] = x[i] - z[i]; break;
      case MUL: for (int i = 0; i < n; i++) y[i] = x[i] * z[i]; break;
      case DIV: for (int i = 0; i < n; i++) y[i] = x[i] / z[i]; break;
      case PRELU: for (int i = 0; i < n; i++) y[i] = x[i] < 0 ? x[i] * z[i] : x[i]; break;
      case MAX: for (int i = 0; i < n; i++) y[i] = Math.max(x[i], z[i]); break;
      case MIN: for (int i = 0; i < n; i++) y[i] = Math.min(x[i], z[i]); break;
      default: throw new AssertionError(kind);
    }
  }

  private void scalar(float[] x, float s, float[] y) {
    int n = y.length;
    switch (kind) {
      case ADD: for (int i = 0; i < n; i++) y[i] = x[i] + s; break;
      case SUB: for (int i = 0; i < n; i++) y[i] = x[i] - s; break;
      case MUL: for (int i = 0; i < n; i++) y[i] = x[i] * s; break;
      case DIV: for (int i = 0; i < n; i++) y[i] = x[i] / s; break;
      case PRELU: for (int i = 0; i < n; i++) y[i] = x[i] < 0 ? x[i] * s : x[i]; break;
      case MAX: for (int i = 0; i < n; i++) y[i] = Math.max(x[i], s); break;
      case MIN: for (int i = 0; i < n; i++) y[i] = Math.min(x[i], s); break;
      default: throw new AssertionError(kind);
    }
  }

  private float apply(float p, float q) {
    switch (kind) {
      case ADD: return p + q;
      case SUB: return p - q;
      case MUL: return p * q;
      case DIV: return p / q;
      case PRELU: return p < 0 ? p * q : p;
      case MAX: return Math.max(p, q);
      case MIN: return Math.min(p, q);
      default: throw new AssertionError(kind);
    }
  }

  /** Walks the output index with per-operand strides; the innermost axis is a plain loop. */
  private void general(float[] x, int[] xs, float[] z, int[] zs, float[] y, int[] shape) {
    int r = shape.length;
    if (y.length == 0) return;
    int inner = shape[r - 1];
    int xi = xs[r - 1], zi = zs[r - 1];
    int[] idx = new int[r];
    int xo = 0, zo = 0;
    for (int o = 0; o < y.length; o += inner) {
      for (int j = 0; j < inner; j++) y[o + j] = apply(x[xo + j * xi], z[zo + j * zi]);
      for (int d = r - 2; d >= 0; d--) {
        idx[d]++;
        xo += xs[d];
        zo += zs[d];
        if (idx[d] < shape[d]) break;
        xo -= xs[d] * shape[d];
        zo -= zs[d] * shape[d];
        idx[d] = 0;
      }
    }
  }

  /** int64 arithmetic for shape computations exporters emit (e.g. Mul/Div of dims). */
  private Tensor integer(Tensor a, Tensor b) {
    int[] shape = Shapes.broadcast(a.shape(), b.shape());
    long[] x = a.longs(), z = b.longs();
    long[] y = new long[Shapes.size(shape)];
    if ((x.length != y.length && x.length != 1) || (z.length != y.length && z.length != 1)) {
      throw new OpException(kind + " on int64 tensors supports equal shapes or a scalar only");
    }
    for (int i = 0; i < y.length; i++) {
      long p = x[x.length == 1 ? 0 : i], q = z[z.length == 1 ? 0 : i];
      switch (kind) {
        case ADD: y[i] = p + q; break;
        case SUB: y[i] = p - q; break;
        case MUL: y[i] = p * q; break;
        case DIV: y[i] = p / q; break;
        case MAX: y[i] = Math.max(p, q); break;
        case MIN: y[i] = Math.min(p, q); break;
        default: throw new OpException(kind + " on int64 tensors is not supported");
      }
    }
    return Tensor.ofLongs(y, shape);
  }
}

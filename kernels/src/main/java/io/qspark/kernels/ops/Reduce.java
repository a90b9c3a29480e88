package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * ReduceMean, ReduceSum, ReduceMax and ReduceMin over a set of axes (all when none are given),
 * keeping them as size 1 unless keepdims=0. Axes are an attribute, or the second input for
 * ReduceSum since opset 13 and for all of them since opset 18, where
 * noop_with_empty_axes=1 makes an empty list the identity. Float sums and means accumulate in
 * double in index order (one rounding to float at the end), so the result does not depend on
 * how the axes are laid out; int64 inputs (shape arithmetic) reduce exactly.
 */
public final class Reduce implements Op {
  public enum Kind { MEAN, SUM, MAX, MIN }

  private final Kind kind;
  private final long[] axes;
  private final boolean keepDims;
  private final boolean noopWithEmptyAxes;

  public Reduce(String opType, Attributes a) {
    switch (opType) {
      case "ReduceMean": kind = Kind.MEAN; break;
      case "ReduceSum": kind = Kind.SUM; break;
      case "ReduceMax": kind = Kind.MAX; break;
      case "ReduceMin": kind = Kind.MIN; break;
      default: throw new IllegalArgumentException(opType);
    }
    this.axes = a.getInts("axes", null);
    this.keepDims = a.getInt("keepdims", 1) != 0;
    this.noopWithEmptyAxes = a.getInt("noop_with_empty_axes", 0) != 0;
  }

  /**
   * How an input of some shape reduces: the output index of each input element (in index
   * order), the output's size and shape, and how many elements each output value reduces.
   */
  public record Plan(int[] dst, int outSize, int count, int[] shape) {}

  /** The reduction of the op's inputs, or null when it is the identity (empty axes with noop_with_empty_axes). */
  public Plan plan(Tensor[] in) {
    int[] xs = in[0].shape();
    int r = xs.length;
    long[] spec = in.length > 1 && in[1] != null ? in[1].asLongs() : axes;
    boolean[] reduced = new boolean[r];
    if (spec == null || spec.length == 0) {
      if (noopWithEmptyAxes) return null;
      java.util.Arrays.fill(reduced, true);
    } else {
      for (int d : Elements.axes(spec, r, kind.name())) reduced[d] = true;
    }
    // output index of each input element: walk the input, skipping reduced axes
    int[] kept = new int[r];
    int outSize = 1;
    for (int d = r - 1; d >= 0; d--) {
      kept[d] = reduced[d] ? 0 : outSize;
      if (!reduced[d]) outSize *= xs[d];
    }
    int n = Shapes.size(xs);
    int count = outSize == 0 ? 0 : n / outSize;
    int[] dst = new int[n];
    int[] idx = new int[r];
    for (int i = 0, o = 0; i < n; i++) {
      dst[i] = o;
      for (int d = r - 1; d >= 0; d--) {
        o += kept[d];
        if (++idx[d] < xs[d]) break;
        o -= kept[d] * xs[d];
        idx[d] = 0;
      }
    }
    return new Plan(dst, outSize, count, outShape(xs, reduced));
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    Plan p = plan(in);
    if (p == null) return new Tensor[] {x};
    if (x.isFloat()) return new Tensor[] {Tensor.of(floats(x.data(), p.dst(), p.outSize(), p.count()), p.shape())};
    return new Tensor[] {Tensor.ofLongs(longs(x.longs(), p.dst(), p.outSize(), p.count()), p.shape())};
  }

  private float[] floats(float[] x, int[] dst, int outSize, int count) {
    float[] y = Arena.floats(outSize);
    if (kind == Kind.MAX || kind == Kind.MIN) {
      // an empty reduction is the identity element of max/min
      java.util.Arrays.fill(y, kind == Kind.MAX ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY);
      for (int i = 0; i < x.length; i++) y[dst[i]] = kind == Kind.MAX ? Math.max(y[dst[i]], x[i]) : Math.min(y[dst[i]], x[i]);
      return y;
    }
    double[] acc = new double[outSize];
    for (int i = 0; i < x.length; i++) acc[dst[i]] += x[i];
    for (int o = 0; o < outSize; o++) y[o] = (float) (kind == Kind.MEAN ? acc[o] / count : acc[o]);
    return y;
  }

  private long[] longs(long[] x, int[] dst, int outSize, int count) {
    long[] y = new long[outSize];
    if (kind == Kind.MAX || kind == Kind.MIN) java.util.Arrays.fill(y, kind == Kind.MAX ? Long.MIN_VALUE : Long.MAX_VALUE);
    for (int i = 0; i < x.length; i++) {
      int o = dst[i];
      switch (kind) {
        case MAX: y[o] = Math.max(y[o], x[i]); break;
        case MIN: y[o] = Math.min(y[o], x[i]); break;
        default: y[o] += x[i]; break;
      }
    }
    if (kind == Kind.MEAN) for (int o = 0; o < outSize; o++) y[o] = count == 0 ? 0 : y[o] / count;
    return y;
  }

  private int[] outShape(int[] xs, boolean[] reduced) {
    int kept = 0;
    for (int d = 0; d < xs.length; d++) if (keepDims || !reduced[d]) kept++;
    int[] shape = new int[kept];
    for (int d = 0, j = 0; d < xs.length; d++) {
      if (reduced[d] && keepDims) shape[j++] = 1;
      else if (!reduced[d]) shape[j++] = xs[d];
    }
    return shape;
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public String describe() {
    return (axes == null ? "" : "axes=" + java.util.Arrays.toString(axes) + " ") + "keepdims=" + (keepDims ? 1 : 0);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Slice: starts, ends, axes and steps are inputs since opset 10 and attributes (starts,
 * ends, axes; no steps) before; negative indices count from the end, out-of-range ones are
 * clamped as the specification says. Caffe's Crop becomes one.
 */
public final class Slice implements Op {
  /** The opset 1-9 attributes, null when the node passes them as inputs. */
  private final long[] starts;
  private final long[] ends;
  private final long[] axes;

  public Slice(Attributes a) {
    boolean attributes = a.opset() < 10;
    this.starts = attributes ? a.getInts("starts", null) : null;
    this.ends = attributes ? a.getInts("ends", null) : null;
    this.axes = attributes ? a.getInts("axes", null) : null;
    if (attributes && (starts == null || ends == null)) {
      throw new OpException("Slice: opset " + a.opset() + " needs the starts and ends attributes");
    }
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int r = x.rank();
    boolean attrs = starts != null;
    long[] starts = attrs ? this.starts : in[1].asLongs();
    long[] ends = attrs ? this.ends : in[2].asLongs();
    long[] axes = attrs ? this.axes : in.length > 3 && in[3] != null ? in[3].asLongs() : null;
    long[] steps = !attrs && in.length > 4 && in[4] != null ? in[4].asLongs() : null;
    if (ends.length != starts.length || axes != null && axes.length != starts.length
        || steps != null && steps.length != starts.length) {
      throw new OpException("Slice: starts, ends, axes and steps differ in length");
    }
    int[] xs = x.shape();
    int[] begin = new int[r];
    int[] step = new int[r];
    int[] shape = xs.clone();
    java.util.Arrays.fill(step, 1);
    for (int i = 0; i < starts.length; i++) {
      int a = (int) (axes == null ? i : axes[i] < 0 ? axes[i] + r : axes[i]);
      if (a < 0 || a >= r) throw new OpException("Slice: axis " + (axes == null ? i : axes[i]) + " out of range for " + x);
      long s = steps == null ? 1 : steps[i];
      if (s == 0) throw new OpException("Slice: step 0");
      long d = xs[a];
      long b = starts[i] < 0 ? starts[i] + d : starts[i];
      long e = ends[i] < 0 ? ends[i] + d : ends[i];
      // forward: [0, d]; backward: start in [0, d - 1], end down to -1 (before the first element)
      b = s > 0 ? clamp(b, 0, d) : clamp(b, 0, d - 1);
      e = s > 0 ? clamp(e, 0, d) : clamp(e, -1, d - 1);
      begin[a] = (int) b;
      step[a] = (int) s;
      shape[a] = (int) Math.max(0, s > 0 ? (e - b + s - 1) / s : (b - e - s - 1) / -s);
    }
    int[] xst = Shapes.strides(xs);
    int n = (int) Shapes.size(shape);
    int[] src = new int[n];
    int[] idx = new int[r];
    for (int o = 0; o < n; o++) {
      int off = 0;
      for (int d = 0; d < r; d++) off += (begin[d] + idx[d] * step[d]) * xst[d];
      src[o] = off;
      for (int d = r - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return new Tensor[] {Elements.gather(x, src, shape, 0)};
  }

  private static long clamp(long v, long lo, long hi) {
    return Math.max(lo, Math.min(hi, v));
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Pad, any rank, float or int64: constant, reflect or edge. Before opset 11 pads and value
 * are attributes; since, pads, constant_value and (opset 18) axes are inputs. Negative pads
 * crop.
 */
public final class Pad implements Op {
  private enum Mode { CONSTANT, REFLECT, EDGE }

  private final Mode mode;
  private final long[] pads;
  private final float value;

  public Pad(Attributes a) {
    String m = a.getString("mode", "constant");
    switch (m) {
      case "constant": mode = Mode.CONSTANT; break;
      case "reflect": mode = Mode.REFLECT; break;
      case "edge": mode = Mode.EDGE; break;
      default: throw new OpException("Pad: mode '" + m + "' is not supported (constant, reflect, edge)");
    }
    this.pads = a.getInts("pads", null);
    this.value = a.getFloat("value", 0f);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int[] xs = x.shape();
    int r = xs.length;
    long[] p = beginEnd(in, r);
    double fill = in.length > 2 && in[2] != null && in[2].size() > 0
        ? (in[2].isFloat() ? in[2].data()[0] : in[2].longs()[0]) : value;
    int[] shape = new int[r];
    int[][] map = new int[r][];
    for (int d = 0; d < r; d++) {
      long len = xs[d] + p[d] + p[d + r];
      if (len < 0) throw new OpException("Pad: pads crop axis " + d + " of size " + xs[d] + " below 0");
      shape[d] = (int) len;
      map[d] = axisMap(xs[d], (int) p[d], shape[d], d);
    }
    int n = Shapes.size(shape);
    int[] src = new int[n];
    if (n > 0) fill(src, map, shape, Shapes.strides(xs));
    return new Tensor[] {Elements.gather(x, src, shape, fill)};
  }

  /** Pads as {begin per axis..., end per axis...} over all r axes. */
  private long[] beginEnd(Tensor[] in, int r) {
    long[] given = in.length > 1 && in[1] != null ? in[1].asLongs() : pads;
    if (given == null) throw new OpException("Pad: no pads given (attribute or second input)");
    if (in.length <= 3 || in[3] == null) {
      if (given.length != 2 * r) {
        throw new OpException("Pad: " + given.length + " pads for an input of rank " + r + " (need " + 2 * r + ")");
      }
      return given;
    }
    long[] raw = in[3].asLongs();
    Elements.axes(raw, r, "Pad"); // rejects out-of-range and repeated axes
    if (given.length != 2 * raw.length) {
      throw new OpException("Pad: " + given.length + " pads for " + raw.length + " axes");
    }
    long[] p = new long[2 * r];
    for (int i = 0; i < raw.length; i++) {
      int d = Shapes.axis(raw[i], r, "Pad");
      p[d] = given[i];
      p[d + r] = given[i + raw.length];
    }
    return p;
  }

  /** For each output position along one axis, the input position, or -1 for the constant. */
  private int[] axisMap(int size, int begin, int len, int axis) {
    int[] m = new int[len];
    for (int o = 0; o < len; o++) {
      int i = o - begin;
      if (i < 0 || i >= size) {
        if (size == 0 && mode != Mode.CONSTANT) {
          throw new OpException("Pad: " + mode.name().toLowerCase() + " padding of empty axis " + axis);
        }
        switch (mode) {
          case CONSTANT: i = -1; break;
          case EDGE: i = i < 0 ? 0 : size - 1; break;
          default: i = reflect(i, size); break;
        }
      }
      m[o] = i;
    }
    return m;
  }

  /** numpy 'reflect' (edge not repeated), folding again while pads exceed the axis. */
  private static int reflect(int i, int size) {
    if (size == 1) return 0;
    int period = 2 * (size - 1);
    i = Math.floorMod(i, period);
    return i < size ? i : period - i;
  }

  /** Input offset (or -1) of every output element, walking the output with an odometer. */
  private static void fill(int[] src, int[][] map, int[] shape, int[] xst) {
    int r = shape.length;
    if (r == 0) {
      src[0] = 0;
      return;
    }
    int inner = shape[r - 1];
    int[] last = map[r - 1];
    int[] idx = new int[r];
    for (int o = 0; o < src.length; o += inner) {
      int base = 0;
      for (int d = 0; d < r - 1 && base >= 0; d++) {
        int m = map[d][idx[d]];
        base = m < 0 ? -1 : base + m * xst[d];
      }
      for (int j = 0; j < inner; j++) src[o + j] = base < 0 || last[j] < 0 ? -1 : base + last[j];
      for (int d = r - 2; d >= 0; d--) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
  }

  @Override
  public String describe() {
    return mode.name().toLowerCase();
  }
}

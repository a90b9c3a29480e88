package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * Nearest and (bi)linear resampling of the last two axes, shared by Resize and Upsample. Each
 * output row and column maps to a source coordinate once; the planes are then plain loops.
 */
final class Resampler {
  enum Coord { HALF_PIXEL, ASYMMETRIC, ALIGN_CORNERS, PYTORCH_HALF_PIXEL, TF_HALF_PIXEL_FOR_NN }

  /** SIMPLE is onnxruntime's rule for Upsample and Resize-10, which had no nearest_mode. */
  enum Rounding { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, FLOOR, CEIL, SIMPLE }

  private final String op;
  private final boolean linear;
  private final Coord coord;
  private final Rounding rounding;

  Resampler(String op, boolean linear, Coord coord, Rounding rounding) {
    this.op = op;
    this.linear = linear;
    this.coord = coord;
    this.rounding = rounding;
  }

  /** The output size and the scales the coordinate mapping uses. */
  record Geometry(int[] out, double[] scales) {}

  /** Output size floor(in * scale) per axis; the coordinate mapping uses the scales as given. */
  Geometry byScales(int[] xs, float[] scales) {
    if (scales.length != xs.length) {
      throw new OpException(op + ": " + scales.length + " scales for an input of rank " + xs.length);
    }
    int[] out = new int[xs.length];
    double[] s = new double[xs.length];
    for (int d = 0; d < xs.length; d++) {
      if (!(scales[d] > 0)) throw new OpException(op + ": scale " + scales[d] + " is not positive");
      s[d] = scales[d];
      out[d] = (int) Math.floor(xs[d] * s[d]);
    }
    return new Geometry(out, s);
  }

  /** Output of the given size; the scales are out / in. */
  Geometry bySizes(int[] xs, long[] sizes) {
    if (sizes.length != xs.length) {
      throw new OpException(op + ": " + sizes.length + " sizes for an input of rank " + xs.length);
    }
    int[] out = new int[xs.length];
    double[] s = new double[xs.length];
    for (int d = 0; d < xs.length; d++) {
      if (sizes[d] <= 0) throw new OpException(op + ": size " + sizes[d] + " is not positive");
      out[d] = (int) sizes[d];
      s[d] = (double) out[d] / xs[d];
    }
    return new Geometry(out, s);
  }

  /**
   * One resized axis: its input and output lengths and per output position its linear taps (the
   * two source indices i0, i1 and the weight of the second) or its nearest source (i0 alone).
   */
  private record Axis(int in, int out, int[] i0, int[] i1, float[] frac) {}

  /** Where the output's values come from, for an input of shape xs: planes of rows x cols, each axis's taps. */
  private record Taps(int planes, Axis rows, Axis cols) {}

  private Taps taps(int[] xs, Geometry geo) {
    int[] out = geo.out();
    double[] scales = geo.scales();
    int r = xs.length;
    if (r < 2) throw new OpException(op + ": input rank " + r + " < 2");
    for (int d = 0; d < r - 2; d++) {
      if (out[d] != xs[d]) {
        throw new OpException(op + ": only the last two axes may be resized, "
            + Tensor.shapeString(xs) + " -> " + Tensor.shapeString(out));
      }
    }
    int h = xs[r - 2], w = xs[r - 1], oh = out[r - 2], ow = out[r - 1];
    int planes = h * w == 0 ? 0 : Shapes.size(xs) / (h * w);
    if (!linear) {
      return new Taps(planes, new Axis(h, oh, nearest(h, oh, scales[r - 2]), null, null),
          new Axis(w, ow, nearest(w, ow, scales[r - 1]), null, null));
    }
    int[] y0 = new int[oh], y1 = new int[oh], x0 = new int[ow], x1 = new int[ow];
    float[] fy = new float[oh], fx = new float[ow];
    linearTaps(h, oh, scales[r - 2], y0, y1, fy);
    linearTaps(w, ow, scales[r - 1], x0, x1, fx);
    return new Taps(planes, new Axis(h, oh, y0, y1, fy), new Axis(w, ow, x0, x1, fx));
  }

  Tensor resample(Tensor x, Geometry geo) {
    Taps t = taps(x.shape(), geo);
    final int h = t.rows().in(), w = t.cols().in(), oh = t.rows().out(), ow = t.cols().out();
    final int[] y0 = t.rows().i0(), y1 = t.rows().i1(), x0 = t.cols().i0(), x1 = t.cols().i1();
    final float[] fy = t.rows().frac(), fx = t.cols().frac();
    float[] xd = x.data();
    float[] y = Arena.floats(t.planes() * oh * ow);
    for (int p = 0; p < t.planes(); p++) {
      int xb = p * h * w, yb = p * oh * ow;
      for (int i = 0; i < oh; i++) {
        if (linear) {
          int r0 = xb + y0[i] * w, r1 = xb + y1[i] * w;
          float a = fy[i];
          for (int j = 0; j < ow; j++) {
            float top = xd[r0 + x0[j]] + (xd[r0 + x1[j]] - xd[r0 + x0[j]]) * fx[j];
            float bot = xd[r1 + x0[j]] + (xd[r1 + x1[j]] - xd[r1 + x0[j]]) * fx[j];
            y[yb + i * ow + j] = top + (bot - top) * a;
          }
        } else {
          int row = xb + y0[i] * w;
          for (int j = 0; j < ow; j++) y[yb + i * ow + j] = xd[row + x0[j]];
        }
      }
    }
    return Tensor.of(y, geo.out());
  }

  /**
   * The transpose of {@link #resample} (a linear map of x for a fixed geometry) applied to dy,
   * an output-shaped tensor: the gradient at the input. Every output value's weights go back
   * to the taps it read (nearest: its one source; linear: the four corners with weights
   * (1−a)(1−b), (1−a)b, a(1−b), ab), added in output order, so sums come out the same every run.
   */
  Tensor adjoint(int[] xs, Tensor dy, Geometry geo) {
    Taps t = taps(xs, geo);
    final int h = t.rows().in(), w = t.cols().in(), oh = t.rows().out(), ow = t.cols().out();
    final int[] y0 = t.rows().i0(), y1 = t.rows().i1(), x0 = t.cols().i0(), x1 = t.cols().i1();
    final float[] fy = t.rows().frac(), fx = t.cols().frac();
    float[] g = dy.data();
    float[] dx = new float[Shapes.size(xs)];
    for (int p = 0; p < t.planes(); p++) {
      int xb = p * h * w, yb = p * oh * ow;
      for (int i = 0; i < oh; i++) {
        if (linear) {
          int r0 = xb + y0[i] * w, r1 = xb + y1[i] * w;
          float a = fy[i];
          for (int j = 0; j < ow; j++) {
            float d = g[yb + i * ow + j], b = fx[j];
            float top = d * (1 - a), bot = d * a;
            dx[r0 + x0[j]] += top * (1 - b);
            dx[r0 + x1[j]] += top * b;
            dx[r1 + x0[j]] += bot * (1 - b);
            dx[r1 + x1[j]] += bot * b;
          }
        } else {
          int row = xb + y0[i] * w;
          for (int j = 0; j < ow; j++) dx[row + x0[j]] += g[yb + i * ow + j];
        }
      }
    }
    return Tensor.of(dx, xs);
  }

  /**
   * Source coordinate of output position o. As in ONNX's reference and node vectors, the
   * resized length is in * scale, not rounded: with fractional scales (not sizes) align_corners
   * maps onto a fractional grid (onnx/onnx#2462; onnxruntime uses the rounded length there).
   */
  private double source(int o, double scale, int in) {
    double out = in * scale;
    switch (coord) {
      case HALF_PIXEL: return (o + 0.5) / scale - 0.5;
      case PYTORCH_HALF_PIXEL: return out > 1 ? (o + 0.5) / scale - 0.5 : 0;
      case ALIGN_CORNERS: return out == 1 ? 0 : o * (in - 1) / (out - 1);
      case ASYMMETRIC: return o / scale;
      case TF_HALF_PIXEL_FOR_NN: return (o + 0.5) / scale;
      default: throw new AssertionError(coord);
    }
  }

  private int[] nearest(int in, int out, double scale) {
    int[] idx = new int[out];
    for (int o = 0; o < out; o++) {
      double s = source(o, scale, in);
      double f = Math.floor(s);
      double i;
      switch (rounding) {
        case ROUND_PREFER_FLOOR: i = s - f == 0.5 ? f : Math.floor(s + 0.5); break;
        case ROUND_PREFER_CEIL: i = Math.floor(s + 0.5); break;
        case FLOOR: i = f; break;
        case CEIL: i = Math.ceil(s); break;
        case SIMPLE: i = scale < 1 ? Math.ceil(s) : f; break;
        default: throw new AssertionError(rounding);
      }
      idx[o] = (int) Math.max(0, Math.min(in - 1, i));
    }
    return idx;
  }

  /** Linear taps: coordinates clamped to the axis, which is the spec's edge extension. */
  private void linearTaps(int in, int out, double scale, int[] i0, int[] i1, float[] frac) {
    for (int o = 0; o < out; o++) {
      double s = Math.max(0, Math.min(in - 1, source(o, scale, in)));
      int f = (int) Math.floor(s);
      i0[o] = f;
      i1[o] = Math.min(f + 1, in - 1);
      frac[o] = (float) (s - f);
    }
  }

  String describe() {
    return (linear ? "linear " : "nearest ") + coord.name().toLowerCase()
        + (linear ? "" : " " + rounding.name().toLowerCase());
  }
}

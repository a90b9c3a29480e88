package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Resize, nearest or linear over the last two axes. Opset 10 takes (X, scales) with
 * asymmetric coordinates; opset 11+ takes (X, roi, scales, sizes) with
 * coordinate_transformation_mode and nearest_mode.
 */
public final class Resize implements Op {
  private final Resampler resampler;
  private final boolean legacyInputs;

  public Resize(Attributes a) {
    this.legacyInputs = a.opset() < 11;
    String mode = a.getString("mode", "nearest");
    if (!mode.equals("nearest") && !mode.equals("linear")) {
      throw new OpException("Resize: mode '" + mode + "' is not supported (nearest, linear)");
    }
    if (a.getInt("antialias", 0) != 0 || a.has("axes")
        || !a.getString("keep_aspect_ratio_policy", "stretch").equals("stretch")) {
      throw new OpException("Resize: the opset 18 attributes antialias, axes and"
          + " keep_aspect_ratio_policy are not supported");
    }
    Resampler.Coord coord;
    Resampler.Rounding rounding;
    if (legacyInputs) {
      coord = Resampler.Coord.ASYMMETRIC;
      rounding = Resampler.Rounding.SIMPLE;
    } else {
      coord = coord(a.getString("coordinate_transformation_mode", "half_pixel"));
      rounding = rounding(a.getString("nearest_mode", "round_prefer_floor"));
    }
    this.resampler = new Resampler("Resize", mode.equals("linear"), coord, rounding);
  }

  private static Resampler.Coord coord(String s) {
    switch (s) {
      case "half_pixel": return Resampler.Coord.HALF_PIXEL;
      case "asymmetric": return Resampler.Coord.ASYMMETRIC;
      case "align_corners": return Resampler.Coord.ALIGN_CORNERS;
      case "pytorch_half_pixel": return Resampler.Coord.PYTORCH_HALF_PIXEL;
      case "tf_half_pixel_for_nn": return Resampler.Coord.TF_HALF_PIXEL_FOR_NN;
      default:
        throw new OpException("Resize: coordinate_transformation_mode '" + s + "' is not supported"
            + " (half_pixel, asymmetric, align_corners, pytorch_half_pixel, tf_half_pixel_for_nn)");
    }
  }

  private static Resampler.Rounding rounding(String s) {
    switch (s) {
      case "round_prefer_floor": return Resampler.Rounding.ROUND_PREFER_FLOOR;
      case "round_prefer_ceil": return Resampler.Rounding.ROUND_PREFER_CEIL;
      case "floor": return Resampler.Rounding.FLOOR;
      case "ceil": return Resampler.Rounding.CEIL;
      default: throw new OpException("Resize: unknown nearest_mode '" + s + "'");
    }
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    return new Tensor[] {resampler.resample(in[0], geometry(in))};
  }

  /** The gradient at the input given the output's, dy: the transpose of this (linear) resize. */
  public Tensor adjoint(Tensor[] in, Tensor dy) {
    return resampler.adjoint(in[0].shape(), dy, geometry(in));
  }

  private Resampler.Geometry geometry(Tensor[] in) {
    int[] xs = in[0].shape();
    Tensor scales = legacyInputs ? arg(in, 1) : arg(in, 2);
    Tensor sizes = legacyInputs ? null : arg(in, 3);
    // opset 11 exporters pass an empty scales tensor when they give sizes
    if (scales != null && scales.size() > 0) {
      if (sizes != null && sizes.size() > 0) throw new OpException("Resize: both scales and sizes given");
      return resampler.byScales(xs, scales.asFloats());
    }
    if (sizes != null && sizes.size() > 0) return resampler.bySizes(xs, sizes.asLongs());
    throw new OpException("Resize: neither scales nor sizes given");
  }

  /**
   * The float scale that resizes {@code in} to exactly {@code out} by scales: out / in in
   * float, as ONNX Runtime computes the scale of a Resize given sizes, raised by the few ulps
   * it takes for floor(in * scale) to be out in float and in double (the rounded quotient may
   * fall just below). Lets a Resize whose sizes follow the batch be written with scales.
   */
  public static float scaleFor(int in, int out) {
    float s = (float) out / (float) in;
    while (Math.floor((double) in * s) < out || Math.floor(in * s) < out) s = Math.nextUp(s);
    return s;
  }

  private static Tensor arg(Tensor[] in, int i) {
    return i < in.length ? in[i] : null;
  }

  @Override
  public String describe() {
    return resampler.describe();
  }
}

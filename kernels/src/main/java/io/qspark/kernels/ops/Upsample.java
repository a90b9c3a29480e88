package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Upsample (deprecated since opset 10 by Resize): scales as an attribute (opset 7-8) or
 * the second input (opset 9), asymmetric coordinates, nearest or linear.
 */
public final class Upsample implements Op {
  private final Resampler resampler;
  private final float[] scales;

  public Upsample(Attributes a) {
    String mode = a.getString("mode", "nearest");
    boolean linear = mode.equals("linear") || mode.equals("bilinear");
    if (!linear && !mode.equals("nearest")) {
      throw new OpException("Upsample: mode '" + mode + "' is not supported (nearest, linear)");
    }
    this.resampler = new Resampler("Upsample", linear, Resampler.Coord.ASYMMETRIC,
        Resampler.Rounding.SIMPLE);
    this.scales = a.getFloats("scales", null);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    return new Tensor[] {resampler.resample(in[0], geometry(in))};
  }

  /** The gradient at the input given the output's, dy: the transpose of this (linear) upsampling. */
  public Tensor adjoint(Tensor[] in, Tensor dy) {
    return resampler.adjoint(in[0].shape(), dy, geometry(in));
  }

  private Resampler.Geometry geometry(Tensor[] in) {
    float[] s = in.length > 1 && in[1] != null ? in[1].asFloats() : scales;
    if (s == null) throw new OpException("Upsample: no scales given (attribute or second input)");
    return resampler.byScales(in[0].shape(), s);
  }

  @Override
  public String describe() {
    return resampler.describe();
  }
}

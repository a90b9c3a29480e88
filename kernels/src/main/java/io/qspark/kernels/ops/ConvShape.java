package io.qspark.kernels.ops;

import java.util.Arrays;

/**
 * The shapes of one 2-D convolution, NCHW: input [batch, channels, height, width], output
 * [batch, outChannels, outHeight, outWidth], the channels split into {@code groups}, the window
 * ({@link ConvGeometry}: kernel, strides, dilations) and its pads resolved for this input. The
 * parameter record the conv kernels, their gradients and the integer simulator take instead of
 * {@code n, c, h, w, m, g, oh, ow, geo, pads}; kernels read its fields into locals once, at the
 * top, and loop as before. Immutable: the arrays are copied in and out (so two shapes are equal
 * only if they are the same object).
 *
 * @param input [batch, channels, height, width]
 * @param output [batch, outChannels, outHeight, outWidth]
 * @param pads {top, left, bottom, right}
 */
public record ConvShape(int[] input, int[] output, int groups, ConvGeometry geometry, int[] pads) {
  public ConvShape {
    if (input.length != 4 || output.length != 4 || pads.length != 4) {
      throw new OpException("conv shape: input " + Arrays.toString(input) + ", output " + Arrays.toString(output)
          + " and pads " + Arrays.toString(pads) + " must have 4 values each");
    }
    if (input[0] != output[0]) {
      throw new OpException("conv shape: batch " + input[0] + " in, " + output[0] + " out");
    }
    if (groups < 1 || input[1] % groups != 0 || output[1] % groups != 0) {
      throw new OpException("conv shape: " + input[1] + " input and " + output[1] + " output channels in " + groups
          + " groups");
    }
    input = input.clone();
    output = output.clone();
    pads = pads.clone();
  }

  /**
   * A Conv's shapes from its input's and weight's ([outChannels, channels / groups, kh, kw]): the
   * pads and output size as the geometry resolves them for this input.
   */
  public static ConvShape of(int[] x, int[] w, int groups, ConvGeometry geo) {
    int[] o = geo.out(x[2], x[3]);
    return new ConvShape(x, new int[] {x[0], w[0], o[0], o[1]}, groups, geo, geo.pads(x[2], x[3]));
  }

  public int batch() {
    return input[0];
  }

  public int channels() {
    return input[1];
  }

  public int height() {
    return input[2];
  }

  public int width() {
    return input[3];
  }

  public int outChannels() {
    return output[1];
  }

  public int outHeight() {
    return output[2];
  }

  public int outWidth() {
    return output[3];
  }

  /** Input channels per group (cg). */
  public int groupChannels() {
    return input[1] / groups;
  }

  /** Output channels per group (mg). */
  public int groupOutChannels() {
    return output[1] / groups;
  }

  public int padTop() {
    return pads[0];
  }

  public int padLeft() {
    return pads[1];
  }

  public int padBottom() {
    return pads[2];
  }

  public int padRight() {
    return pads[3];
  }

  @Override
  public int[] input() {
    return input.clone();
  }

  @Override
  public int[] output() {
    return output.clone();
  }

  @Override
  public int[] pads() {
    return pads.clone();
  }

  @Override
  public String toString() {
    return Arrays.toString(input) + " -> " + Arrays.toString(output) + " " + geometry.describe()
        + " pads " + Arrays.toString(pads) + (groups != 1 ? " g=" + groups : "");
  }
}

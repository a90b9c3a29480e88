package io.qspark.kernels.quant;

import java.util.List;

/**
 * What to quantize to and how to choose fix_points. Immutable; the defaults are Vitis AI's for
 * a DPU: 8-bit everything, DPU rounding for activations, half-away rounding for weights, biases
 * and the network input, MSE ("diffs") fix_point search, the whole graph quantized.
 *
 * @param inputNodes where the quantized region starts (node or tensor names, as Vitis'
 *     input_nodes); empty: at the graph inputs. What comes before stays float.
 * @param outputNodes where it ends (Vitis' output_nodes); empty: at the graph outputs.
 * @param unsignedActivations experimental: activations that are never negative in calibration
 *     use the unsigned range (one more bit of resolution); the DPU computes signed only, so
 *     deploy refuses such a model.
 * @param biasBits the width of biases, apart from the weights' (the DPU adds 8-bit biases
 *     whatever the weight width); power-of-two biases only: float-scale biases are 32-bit
 * @param weightGranularity per-tensor (the DPU's) or per-channel weights, for non-DPU targets
 * @param scales power-of-two steps (the DPU's fix_points) or float scales, for non-DPU targets;
 *     float biases are 32-bit with step s_in * s_w, as ONNX's
 * @param layers per-layer rules over the settings above, in order, a later one winning
 *     ({@link LayerRule}: widths, method, exclusion); resolved against a graph by {@link QuantPlan}
 */
public record QuantConfig(int weightBits, int activationBits, int biasBits, Method method,
    double percentile, Rounding activationRounding, Rounding weightRounding,
    List<String> inputNodes, List<String> outputNodes, boolean unsignedActivations,
    Granularity weightGranularity, ScaleKind scales, List<LayerRule> layers) implements java.io.Serializable {

  public QuantConfig {
    layers = List.copyOf(layers);
    java.util.Objects.requireNonNull(weightGranularity, "weightGranularity");
    java.util.Objects.requireNonNull(scales, "scales");
    width("weight", weightBits);
    width("activation", activationBits);
    width("bias", biasBits);
    if (!(percentile > 0 && percentile <= 100)) throw new IllegalArgumentException("percentile " + percentile);
    inputNodes = List.copyOf(inputNodes);
    outputNodes = List.copyOf(outputNodes);
  }

  private static void width(String what, int bits) {
    if (bits < FixPoint.MIN_BITS || bits > FixPoint.MAX_BITS) {
      throw new IllegalArgumentException(what + " bit width " + bits + " outside " + FixPoint.MIN_BITS + ".." + FixPoint.MAX_BITS);
    }
  }

  /** The same widths for every layer. */
  public QuantConfig(int weightBits, int activationBits, int biasBits, Method method, double percentile,
      Rounding activationRounding, Rounding weightRounding, List<String> inputNodes, List<String> outputNodes,
      boolean unsignedActivations, Granularity weightGranularity, ScaleKind scales) {
    this(weightBits, activationBits, biasBits, method, percentile, activationRounding, weightRounding, inputNodes,
        outputNodes, unsignedActivations, weightGranularity, scales, List.of());
  }

  /** A DPU config: per-tensor power-of-two quantizers. */
  public QuantConfig(int weightBits, int activationBits, int biasBits, Method method, double percentile,
      Rounding activationRounding, Rounding weightRounding, List<String> inputNodes, List<String> outputNodes,
      boolean unsignedActivations) {
    this(weightBits, activationBits, biasBits, method, percentile, activationRounding, weightRounding, inputNodes,
        outputNodes, unsignedActivations, Granularity.PER_TENSOR, ScaleKind.POWER_OF_TWO);
  }

  public static QuantConfig defaults() {
    return new QuantConfig(8, 8, 8, Method.MSE, 99.99, Rounding.HALF_UP, Rounding.HALF_AWAY, List.of(), List.of(), false);
  }

  /** Whether every quantizer is a per-tensor fix_point, as the DPU (and deploy) needs. */
  public boolean dpuStyle() {
    return weightGranularity == Granularity.PER_TENSOR && scales == ScaleKind.POWER_OF_TWO;
  }

  /** Same config for a non-DPU target's weight granularity and scale kind. */
  public QuantConfig withTarget(Granularity granularity, ScaleKind kind) {
    return new QuantConfig(weightBits, activationBits, biasBits, method, percentile, activationRounding, weightRounding,
        inputNodes, outputNodes, unsignedActivations, granularity, kind, layers);
  }

  /** Same config with every width set (biases too), as Vitis' weight_bit/activation_bit from one --bits. */
  public QuantConfig withBits(int bits) {
    return new QuantConfig(bits, bits, bits, method, percentile, activationRounding, weightRounding, inputNodes, outputNodes,
        unsignedActivations, weightGranularity, scales, layers);
  }

  /** Same config with biases at their own width. */
  public QuantConfig withBiasBits(int bits) {
    return new QuantConfig(weightBits, activationBits, bits, method, percentile, activationRounding, weightRounding,
        inputNodes, outputNodes, unsignedActivations, weightGranularity, scales, layers);
  }

  /** Same config with per-layer rules (applied in order over the config's settings). */
  public QuantConfig withLayers(List<LayerRule> rules) {
    return new QuantConfig(weightBits, activationBits, biasBits, method, percentile, activationRounding, weightRounding,
        inputNodes, outputNodes, unsignedActivations, weightGranularity, scales, rules);
  }

  public QuantConfig withMethod(Method m) {
    return new QuantConfig(weightBits, activationBits, biasBits, m, percentile, activationRounding, weightRounding,
        inputNodes, outputNodes, unsignedActivations, weightGranularity, scales, layers);
  }

  public QuantConfig withRegion(List<String> inputs, List<String> outputs) {
    return new QuantConfig(weightBits, activationBits, biasBits, method, percentile, activationRounding, weightRounding,
        inputs, outputs, unsignedActivations, weightGranularity, scales, layers);
  }

  public QuantConfig withUnsignedActivations(boolean unsigned) {
    return new QuantConfig(weightBits, activationBits, biasBits, method, percentile, activationRounding, weightRounding,
        inputNodes, outputNodes, unsigned, weightGranularity, scales, layers);
  }
}

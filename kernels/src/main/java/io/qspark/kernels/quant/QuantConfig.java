package io.qspark.kernels.quant;

import java.util.List;

/**
 * What to quantize to and how to choose fix_points. Immutable; the defaults are Vitis AI's for
 * a DPU: 8-bit everything, DPU rounding for activations, half-away rounding for weights, biases
 * and the network input, MSE ("diffs") fix_point search, the whole graph quantized.
 *
 * @param widths the bit widths of weights, activations and biases
 * @param method and {@code percentile}: how fix_points are chosen
 * @param region where the quantized region starts and ends
 * @param scheme the quantizers' form: signed or unsigned activations, per-tensor or per-channel
 *     weights, power-of-two or float scales
 * @param layers per-layer rules over the settings above, in order, a later one winning
 *     ({@link LayerRule}: widths, method, exclusion); resolved against a graph by {@link QuantPlan}
 */
public record QuantConfig(Widths widths, Method method, double percentile, Rounding activationRounding,
    Rounding weightRounding, Region region, Scheme scheme, List<LayerRule> layers) implements java.io.Serializable {

  public QuantConfig {
    java.util.Objects.requireNonNull(widths, "widths");
    java.util.Objects.requireNonNull(region, "region");
    java.util.Objects.requireNonNull(scheme, "scheme");
    layers = List.copyOf(layers);
    if (!(percentile > 0 && percentile <= 100)) throw new IllegalArgumentException("percentile " + percentile);
  }

  /**
   * The bit widths of weights, activations and biases.
   *
   * @param biases the width of biases, apart from the weights' (the DPU adds 8-bit biases
   *     whatever the weight width); power-of-two biases only: float-scale biases are 32-bit
   */
  public record Widths(int weights, int activations, int biases) implements java.io.Serializable {
    public Widths {
      width("weight", weights);
      width("activation", activations);
      width("bias", biases);
    }

    private static void width(String what, int bits) {
      if (bits < FixPoint.MIN_BITS || bits > FixPoint.MAX_BITS) {
        throw new IllegalArgumentException(what + " bit width " + bits + " outside " + FixPoint.MIN_BITS + ".." + FixPoint.MAX_BITS);
      }
    }
  }

  /**
   * The quantized part of the graph.
   *
   * @param inputNodes where it starts (node or tensor names, as Vitis' input_nodes); empty: at
   *     the graph inputs. What comes before stays float.
   * @param outputNodes where it ends (Vitis' output_nodes); empty: at the graph outputs.
   */
  public record Region(List<String> inputNodes, List<String> outputNodes) implements java.io.Serializable {
    /** The whole graph. */
    public static final Region ALL = new Region(List.of(), List.of());

    public Region {
      inputNodes = List.copyOf(inputNodes);
      outputNodes = List.copyOf(outputNodes);
    }
  }

  /**
   * The form of the quantizers.
   *
   * @param unsignedActivations experimental: activations that are never negative in calibration
   *     use the unsigned range (one more bit of resolution); the DPU computes signed only, so
   *     deploy refuses such a model.
   * @param weightGranularity per-tensor (the DPU's) or per-channel weights, for non-DPU targets
   * @param scales power-of-two steps (the DPU's fix_points) or float scales, for non-DPU
   *     targets; float biases are 32-bit with step s_in * s_w, as ONNX's
   */
  public record Scheme(boolean unsignedActivations, Granularity weightGranularity, ScaleKind scales)
      implements java.io.Serializable {
    /** The DPU's: signed, per-tensor, power-of-two. */
    public static final Scheme DPU = new Scheme(false, Granularity.PER_TENSOR, ScaleKind.POWER_OF_TWO);

    public Scheme {
      java.util.Objects.requireNonNull(weightGranularity, "weightGranularity");
      java.util.Objects.requireNonNull(scales, "scales");
    }
  }

  public static QuantConfig defaults() {
    return new QuantConfig(new Widths(8, 8, 8), Method.MSE, 99.99, Rounding.HALF_UP, Rounding.HALF_AWAY, Region.ALL,
        Scheme.DPU, List.of());
  }

  public int weightBits() {
    return widths.weights();
  }

  public int activationBits() {
    return widths.activations();
  }

  public int biasBits() {
    return widths.biases();
  }

  public List<String> inputNodes() {
    return region.inputNodes();
  }

  public List<String> outputNodes() {
    return region.outputNodes();
  }

  public boolean unsignedActivations() {
    return scheme.unsignedActivations();
  }

  public Granularity weightGranularity() {
    return scheme.weightGranularity();
  }

  public ScaleKind scales() {
    return scheme.scales();
  }

  /** Whether every quantizer is a per-tensor fix_point, as the DPU (and deploy) needs. */
  public boolean dpuStyle() {
    return scheme.weightGranularity() == Granularity.PER_TENSOR && scheme.scales() == ScaleKind.POWER_OF_TWO;
  }

  /** Same config for a non-DPU target's weight granularity and scale kind. */
  public QuantConfig withTarget(Granularity granularity, ScaleKind kind) {
    return new QuantConfig(widths, method, percentile, activationRounding, weightRounding, region,
        new Scheme(scheme.unsignedActivations(), granularity, kind), layers);
  }

  /** Same config with these widths of weights, activations and biases. */
  public QuantConfig withWidths(int weights, int activations, int biases) {
    return new QuantConfig(new Widths(weights, activations, biases), method, percentile, activationRounding,
        weightRounding, region, scheme, layers);
  }

  /** Same config with every width set (biases too), as Vitis' weight_bit/activation_bit from one --bits. */
  public QuantConfig withBits(int bits) {
    return withWidths(bits, bits, bits);
  }

  /** Same config with biases at their own width. */
  public QuantConfig withBiasBits(int bits) {
    return withWidths(widths.weights(), widths.activations(), bits);
  }

  /** Same config with per-layer rules (applied in order over the config's settings). */
  public QuantConfig withLayers(List<LayerRule> rules) {
    return new QuantConfig(widths, method, percentile, activationRounding, weightRounding, region, scheme, rules);
  }

  public QuantConfig withMethod(Method m) {
    return new QuantConfig(widths, m, percentile, activationRounding, weightRounding, region, scheme, layers);
  }

  public QuantConfig withRegion(List<String> inputs, List<String> outputs) {
    return new QuantConfig(widths, method, percentile, activationRounding, weightRounding, new Region(inputs, outputs),
        scheme, layers);
  }

  public QuantConfig withUnsignedActivations(boolean unsigned) {
    return new QuantConfig(widths, method, percentile, activationRounding, weightRounding, region,
        new Scheme(unsigned, scheme.weightGranularity(), scheme.scales()), layers);
  }
}

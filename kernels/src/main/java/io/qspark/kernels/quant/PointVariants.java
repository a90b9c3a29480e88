package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The quantization points of a calibrated model one at a time, as sensitivity analysis and the
 * accuracy budget score them: a point is an activation point (every value sharing one
 * fix_point) or a layer's weights (with its bias). For each point, the model with only that
 * point quantized, with every point but it quantized, or with it at another width.
 */
public final class PointVariants {
  private PointVariants() {}

  public enum Kind {
    ACTIVATION("activation"), WEIGHTS("weights");

    public final String key;

    Kind(String key) {
      this.key = key;
    }
  }

  /**
   * One point.
   *
   * @param name the activation point's name (the value whose statistics decide it), or the weight's
   * @param node for weights, the layer (node) they belong to; for an activation, null
   * @param params for weights, the weight and its bias (their parameter names); empty for an activation
   * @param bits its width in the calibration
   */
  public record Point(String name, Kind kind, String node, List<String> params, int bits) implements Serializable {
    public Point {
      params = List.copyOf(params);
    }

    /**
     * The layer rule putting this point at {@code bits}: an activation's width by the node that
     * writes its value (or the network input of that name), a layer's weight and bias widths by
     * its name. The match is the literal name, so it selects that node alone.
     */
    public LayerRule rule(int bits, int biasBits) {
      return kind == Kind.ACTIVATION ? LayerRule.bits(literal(name), 0, bits, 0)
          : LayerRule.bits(literal(node), bits, 0, biasBits);
    }

    /** As tables show it: {@code name (weights)}. */
    public String shown() {
      return kind == Kind.ACTIVATION ? name : node + " (weights)";
    }
  }

  /**
   * A model to score: the config it was planned with (a variant at other widths has rules of its
   * own) and its decisions, of which points without a quantizer stay float.
   */
  public record Variant(String name, QuantConfig config, QuantParams params) implements Serializable {}

  /** Every activation point in plan order, then every quantized layer's weights in graph order. */
  public static List<Point> points(QuantPlan plan) {
    List<Point> r = new ArrayList<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) r.add(new Point(a.name(), Kind.ACTIVATION, null, List.of(), a.bits()));
    for (QuantPlan.ParamPoint p : plan.params()) {
      if (p.role() != QuantPlan.Role.WEIGHT) continue;
      List<String> names = new ArrayList<>();
      names.add(p.name());
      for (QuantPlan.ParamPoint b : plan.params()) {
        if (b.role() == QuantPlan.Role.BIAS && b.node().equals(p.node())) names.add(b.name());
      }
      r.add(new Point(p.name(), Kind.WEIGHTS, p.node(), names, p.bits()));
    }
    return r;
  }

  /** The decisions with only {@code p} quantized. */
  public static QuantParams only(QuantParams all, Point p) {
    return p.kind() == Kind.ACTIVATION ? all.only(Set.of(p.name()), Set.of()) : all.only(Set.of(), Set.copyOf(p.params()));
  }

  /** The decisions with every point quantized but {@code p}. */
  public static QuantParams allBut(QuantParams all, Point p) {
    Set<String> acts = new HashSet<>(all.activations().keySet());
    Set<String> params = new HashSet<>(all.quantizers().keySet());
    if (p.kind() == Kind.ACTIVATION) acts.remove(p.name());
    else params.removeAll(p.params());
    return all.only(acts, params);
  }

  /**
   * The config with {@code extra} rules after its own, planned and decided from the same
   * statistics: the calibration with some points at other widths (weights decided from their
   * values, activations from their histograms; DPU shifts legalised again).
   */
  public static Variant decided(String name, Graph g, QuantConfig cfg, List<LayerRule> extra,
      java.util.Map<String, Histogram> histograms) {
    List<LayerRule> rules = new ArrayList<>(cfg.layers());
    rules.addAll(extra);
    QuantConfig c = cfg.withLayers(rules);
    return new Variant(name, c, QuantParams.decide(g, QuantPlan.of(g, c), histograms, c));
  }

  /** A regular expression matching exactly {@code s} (a node or value name), readable in a config file. */
  public static String literal(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if ("\\.[]{}()*+?^$|".indexOf(c) >= 0) b.append('\\');
      b.append(c);
    }
    return b.toString();
  }
}

package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a DPU-style quantized model has quantization points, on a graph with BatchNorm folded
 * and activations fused: the network input, the output of every compute op (conv, gemm, add,
 * average pooling, anything that makes new values), every weight and bias. Ops that only move
 * or select values (reshapes, max pooling, ReLU on its own) share their input's point, and a
 * Concat's inputs and output share one, as the hardware writes them into one buffer.
 */
public final class QuantPlan {
  /** Ops whose output values are a subset or rearrangement of their first input's. */
  static final Set<String> PASS_THROUGH = Set.of("Flatten", "Reshape", "Squeeze", "Unsqueeze",
      "Transpose", "Identity", "Dropout", "MaxPool", "Relu", "Pad", "Gather", "Slice", "Split");

  /**
   * One fix_point shared by a set of values; named after the value whose statistics decide it.
   *
   * @param bits its width: the config's activation width, or a {@link LayerRule}'s
   * @param method how its fix_point is chosen: the config's (MSE for a network input under
   *     entropy, see {@link QuantParams#activation}), or a rule's
   * @param rule the label of the rule that set its width ({@link LayerRule#label}), or null
   * @param methodRule the label of the rule that set its method, or null
   */
  public record ActivationPoint(String name, List<String> members, Rounding rounding, int bits, Method method,
      String rule, String methodRule) {}

  public enum Role { WEIGHT, BIAS }

  /**
   * An initializer quantized from its own values.
   *
   * @param bits its width: the config's weight or bias width, or a {@link LayerRule}'s
   * @param rule the label of the rule that set its width, or null
   */
  public record ParamPoint(String name, Role role, String node, int bits, String rule) {}

  private final List<ActivationPoint> activations;
  private final List<ParamPoint> params;
  private final Map<String, String> pointOf;
  /** Excluded nodes ({@link #key}) and the label of the rule that excluded each, in graph order. */
  private final Map<String, String> excluded;
  /** The config's rules, which the labels index. */
  private final List<LayerRule> rules;

  private QuantPlan(List<ActivationPoint> activations, List<ParamPoint> params, Map<String, String> excluded,
      List<LayerRule> rules) {
    this.rules = List.copyOf(rules);
    this.activations = Collections.unmodifiableList(activations);
    this.params = Collections.unmodifiableList(params);
    this.excluded = Collections.unmodifiableMap(excluded);
    Map<String, String> m = new HashMap<>();
    for (ActivationPoint a : activations) for (String v : a.members()) m.put(v, a.name());
    this.pointOf = m;
  }

  public static QuantPlan of(Graph g, QuantConfig cfg) {
    Set<String> inside = region(g, cfg);
    UnionFind groups = new UnionFind();
    Map<String, Rounding> rounding = new HashMap<>();
    List<String> order = new ArrayList<>();
    for (ValueInfo in : g.inputs()) {
      if (!inside.contains(in.name())) continue;
      groups.add(in.name());
      order.add(in.name());
      rounding.put(in.name(), cfg.weightRounding()); // Vitis rounds the network input like weights
    }
    List<ParamPoint> params = new ArrayList<>();
    for (Node n : g.nodes()) {
      // inside the region: reads a region tensor and makes one (a start tensor's producer does not)
      if (n.outputs().stream().noneMatch(inside::contains) || n.inputs().stream().noneMatch(inside::contains)) continue;
      // a region starting inside the graph: its first values are quantized like an input
      for (String in : n.inputs()) {
        if (!in.isEmpty() && inside.contains(in) && !groups.contains(in) && !g.initializers().containsKey(in)) {
          groups.add(in);
          order.add(in);
          rounding.put(in, cfg.activationRounding());
        }
      }
      if (WEIGHTED.contains(n.opType())) {
        if (g.initializers().containsKey(n.input(1))) params.add(new ParamPoint(n.input(1), Role.WEIGHT, n.name(), cfg.weightBits(), null));
        if (n.hasInput(2) && g.initializers().containsKey(n.input(2))) {
          params.add(new ParamPoint(n.input(2), Role.BIAS, n.name(), cfg.biasBits(), null));
        }
      }
      for (String o : n.outputs()) {
        if (o.isEmpty() || !inside.contains(o)) continue;
        groups.add(o);
        order.add(o);
        rounding.putIfAbsent(o, cfg.activationRounding());
      }
      String out = n.outputs().get(0);
      boolean dataIn = !n.input(0).isEmpty() && !g.initializers().containsKey(n.input(0));
      if (PASS_THROUGH.contains(n.opType()) && dataIn && groups.contains(n.input(0))) {
        groups.union(n.input(0), out);
        // every part of a Split holds input values (other ops' second outputs are masks or indices)
        if (n.opType().equals("Split")) for (String o : n.outputs()) if (groups.contains(o)) groups.union(n.input(0), o);
      } else if (n.opType().equals("Concat")) {
        for (String in : n.inputs()) if (groups.contains(in)) groups.union(in, out);
      }
    }
    // group members in topological order; the decider is the group's first value with its own
    // statistics (for a Concat, its output, which holds every input's values)
    Map<String, List<String>> members = new LinkedHashMap<>();
    for (String v : order) members.computeIfAbsent(groups.find(v), k -> new ArrayList<>()).add(v);
    List<ActivationPoint> points = new ArrayList<>();
    for (List<String> vs : members.values()) {
      String name = vs.get(0);
      for (String v : vs) {
        if ("Concat".equals(opOf(g, v))) name = v;
      }
      // the network input's histogram is a comb (256 pixel levels): KL divergence cannot see
      // clipping there (it chose 1/16 of the range on Fashion-MNIST), so the input takes the
      // squared-error search under the entropy method
      Method m = g.isInput(vs.get(0)) && cfg.method() == Method.ENTROPY ? Method.MSE : cfg.method();
      points.add(new ActivationPoint(name, List.copyOf(vs), rounding.get(vs.get(0)), cfg.activationBits(), m, null, null));
    }
    QuantPlan plain = new QuantPlan(points, params, Map.of(), List.of());
    return cfg.layers().isEmpty() ? plain : plain.withRules(g, cfg.layers());
  }

  /**
   * The plan with the rules applied in order over the config's settings: widths, methods, and
   * exclusions (an excluded node's weights and bias are not quantized; its output point stays,
   * so its consumers read integers as before). A rule that selects no node or input is an error.
   */
  private QuantPlan withRules(Graph g, List<LayerRule> rules) {
    Set<Node> first = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    Set<Node> last = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    Set<String> inputPoints = new java.util.HashSet<>(), outputPoints = new java.util.HashSet<>();
    for (ValueInfo in : g.inputs()) if (pointOf(in.name()) != null) inputPoints.add(pointOf(in.name()));
    for (String o : g.outputs()) if (pointOf(o) != null) outputPoints.add(pointOf(o));
    for (Node n : g.nodes()) {
      if (WEIGHTED.contains(n.opType()) && inputPoints.contains(pointOf(n.input(0)))) first.add(n);
      for (String o : n.outputs()) if (outputPoints.contains(pointOf(o))) last.add(n);
    }
    // which rules select each node, and each network input
    Map<Node, boolean[]> selects = new java.util.IdentityHashMap<>();
    boolean[] used = new boolean[rules.size()];
    for (Node n : g.nodes()) {
      boolean[] s = new boolean[rules.size()];
      for (int r = 0; r < rules.size(); r++) s[r] = rules.get(r).matches(n, first.contains(n), last.contains(n));
      selects.put(n, s);
      for (int r = 0; r < s.length; r++) used[r] |= s[r];
    }
    for (ValueInfo in : g.inputs()) for (int r = 0; r < rules.size(); r++) used[r] |= rules.get(r).matchesInput(in.name());
    List<String> unused = new ArrayList<>();
    for (int r = 0; r < rules.size(); r++) if (!used[r]) unused.add(LayerRule.label(r) + " " + rules.get(r));
    if (!unused.isEmpty()) {
      throw new io.qspark.kernels.graph.GraphException("layer rule" + (unused.size() > 1 ? "s " : " ") + String.join(", ", unused)
          + " match" + (unused.size() > 1 ? "" : "es") + " no node of the model (node and output names, op types of the"
          + " graph with BatchNorm folded and activations fused)");
    }
    Map<String, String> excluded = new LinkedHashMap<>();
    for (Node n : g.nodes()) {
      String by = null;
      for (int r = 0; r < rules.size(); r++) {
        Boolean ex = rules.get(r).exclude();
        if (ex != null && selects.get(n)[r]) by = ex ? LayerRule.label(r) : null;
      }
      if (by != null) excluded.put(key(n), by);
    }
    List<ActivationPoint> acts = new ArrayList<>();
    for (ActivationPoint a : activations) {
      int bits = a.bits();
      Method method = a.method();
      String rule = null, methodRule = null;
      for (int r = 0; r < rules.size(); r++) {
        LayerRule lr = rules.get(r);
        if (!lr.setsActivation() || !writes(g, a, lr, r, selects)) continue;
        if (lr.activationBits() != 0) {
          bits = lr.activationBits();
          rule = LayerRule.label(r);
        }
        if (lr.method() != null) {
          method = lr.method();
          methodRule = LayerRule.label(r);
        }
      }
      acts.add(new ActivationPoint(a.name(), a.members(), a.rounding(), bits, method, rule, methodRule));
    }
    Map<String, Node> byName = new HashMap<>();
    for (Node n : g.nodes()) byName.put(n.name(), n);
    List<ParamPoint> ps = new ArrayList<>();
    for (ParamPoint p : params) {
      Node n = byName.get(p.node());
      if (n != null && excluded.containsKey(key(n))) continue;
      int bits = p.bits();
      String rule = null;
      for (int r = 0; r < rules.size(); r++) {
        int b = p.role() == Role.WEIGHT ? rules.get(r).weightBits() : rules.get(r).biasBits();
        if (b != 0 && n != null && selects.get(n)[r]) {
          bits = b;
          rule = LayerRule.label(r);
        }
      }
      ps.add(new ParamPoint(p.name(), p.role(), p.node(), bits, rule));
    }
    return new QuantPlan(acts, ps, excluded, rules);
  }

  /** Whether rule {@code r} selects a writer of the point's values (a node, or the network input). */
  private static boolean writes(Graph g, ActivationPoint a, LayerRule rule, int r, Map<Node, boolean[]> selects) {
    for (String m : a.members()) {
      Node p = g.producer(m);
      if (p == null ? g.isInput(m) && rule.matchesInput(m) : selects.get(p)[r]) return true;
    }
    return false;
  }

  /** Ops with a weight (and maybe a bias) the plan quantizes. */
  private static final Set<String> WEIGHTED = Set.of("Conv", "Gemm", "ConvTranspose", "MatMul");

  /**
   * The values of the quantized region: downstream of the input nodes' inputs and upstream of
   * the output nodes' outputs (Vitis' input_nodes/output_nodes: the first and last nodes that
   * are quantized). Names may be node names or tensor names.
   */
  static Set<String> region(Graph g, QuantConfig cfg) {
    Set<String> start = new java.util.HashSet<>();
    if (cfg.inputNodes().isEmpty()) {
      for (ValueInfo in : g.inputs()) start.add(in.name());
    } else {
      for (String name : cfg.inputNodes()) {
        Node n = node(g, name);
        if (n != null) {
          for (String in : n.inputs()) if (!in.isEmpty() && !g.initializers().containsKey(in)) start.add(in);
        } else if (g.producer(name) != null || g.isInput(name)) {
          start.add(name);
        } else {
          throw new io.qspark.kernels.graph.GraphException("input node '" + name + "' is neither a node nor a tensor of the model");
        }
      }
    }
    Set<String> end = new java.util.HashSet<>();
    if (cfg.outputNodes().isEmpty()) {
      end.addAll(g.outputs());
    } else {
      for (String name : cfg.outputNodes()) {
        Node n = node(g, name);
        if (n != null) {
          for (String o : n.outputs()) if (!o.isEmpty()) end.add(o);
        } else if (g.producer(name) != null) {
          end.add(name);
        } else {
          throw new io.qspark.kernels.graph.GraphException("output node '" + name + "' is neither a node nor a tensor of the model");
        }
      }
    }
    Set<String> fwd = new java.util.HashSet<>(start);
    for (Node n : g.nodes()) {
      // a Shape's output is integers about the tensor, not its values (shape arithmetic that
      // constant folding could not remove): nothing computed from it alone is quantized
      if (n.opType().equals("Shape")) continue;
      if (n.inputs().stream().anyMatch(fwd::contains)) for (String o : n.outputs()) if (!o.isEmpty()) fwd.add(o);
    }
    Set<String> bwd = new java.util.HashSet<>(end);
    List<Node> nodes = g.nodes();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      if (n.outputs().stream().anyMatch(bwd::contains)) bwd.addAll(n.inputs());
    }
    fwd.retainAll(bwd);
    if (fwd.isEmpty()) {
      throw new io.qspark.kernels.graph.GraphException("no tensor lies between input nodes " + cfg.inputNodes()
          + " and output nodes " + cfg.outputNodes());
    }
    return fwd;
  }

  private static Node node(Graph g, String name) {
    for (Node n : g.nodes()) if (n.name().equals(name)) return n;
    return null;
  }

  private static String opOf(Graph g, String value) {
    Node p = g.producer(value);
    return p == null ? null : p.opType();
  }

  public List<ActivationPoint> activations() {
    return activations;
  }

  public List<ParamPoint> params() {
    return params;
  }

  /** The point a value belongs to, or null if it is not quantized. */
  public String pointOf(String value) {
    return pointOf.get(value);
  }

  /**
   * The label of the rule that keeps node {@code n} float ({@link LayerRule#exclude}), or null
   * when it is quantized. Nodes are known by name (by their first output when unnamed), so this
   * answers for the transformed copies of the graph's nodes (fake-quant's) too.
   */
  public String excludedBy(Node n) {
    return excluded.get(key(n));
  }

  /** Every excluded node (its name, or its first output when unnamed) and the rule that excluded it, in graph order. */
  public Map<String, String> excluded() {
    return excluded;
  }

  /** A rule's label with the rule itself, as errors name it: {@code layers[1] {match: '/fc/Gemm', activation_bits: 16}}. */
  public String describeRule(String label) {
    if (!label.startsWith("layers[") || !label.endsWith("]")) throw new IllegalArgumentException("not a rule label: " + label);
    return label + " " + rules.get(Integer.parseInt(label.substring("layers[".length(), label.length() - 1)));
  }

  private static String key(Node n) {
    return n.name().isEmpty() ? n.outputs().get(0) : n.name();
  }

  /** Disjoint sets over value names, with path compression. */
  private static final class UnionFind {
    private final Map<String, String> parent = new HashMap<>();

    void add(String v) {
      parent.putIfAbsent(v, v);
    }

    boolean contains(String v) {
      return parent.containsKey(v);
    }

    String find(String v) {
      String p = parent.get(v);
      if (p.equals(v)) return v;
      String r = find(p);
      parent.put(v, r);
      return r;
    }

    void union(String a, String b) {
      String ra = find(a), rb = find(b);
      if (!ra.equals(rb)) parent.put(rb, ra);
    }
  }
}

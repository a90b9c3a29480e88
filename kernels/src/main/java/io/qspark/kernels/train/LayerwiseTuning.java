package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;

/**
 * The outer loop of layer-wise fine-tuning, shared by {@link AdaQuant} and {@link AdaRound}:
 * layer by layer in topological order, each Conv/Gemm (with its fused activation) is tuned
 * against the float layer's output on the cached quantized inputs, and its update is kept
 * only if the error of the whole model's outputs against the float model's falls. What a
 * method changes in one layer is its {@link Tuner}'s; the data side is a {@link Shards}.
 */
final class LayerwiseTuning {
  private LayerwiseTuning() {}

  /** One layer's tuned weights with the fix_points to use, and the layer's own error before and after. */
  record Candidate(LayerWeights weights, QuantParams params, double layerBefore, double layerAfter) {}

  /** Tunes one layer: its current weights and bias (null if none) under the decisions so far. */
  interface Tuner {
    Candidate tune(int layer, float[] weight, float[] bias, QuantParams cur);
  }

  record Outcome(Graph graph, QuantParams params, List<LayerReport> layers) {}

  /**
   * What is tuned: the float inference graph (the layers and their targets), its quantization
   * plan and config, and the data side.
   */
  record Problem(Graph graph, QuantPlan plan, QuantConfig cfg, Shards shards) {}

  /**
   * @param p the problem; its graph is the float inference graph: the targets of the layers and
   *     of the end-to-end check
   * @param start initializer values the quantized model starts from instead of the graph's
   * @param steps what the reports give as each layer's optimizer steps
   * @param check the model's output error under some decisions (the keep criterion)
   */
  static Outcome run(Problem p, Map<String, float[]> start, QuantParams params, int steps,
      ToDoubleFunction<Decided> check, Tuner tuner, Consumer<String> log) {
    final Graph graph = p.graph();
    final QuantPlan plan = p.plan();
    final Shards shards = p.shards();
    Map<String, float[]> tuned = new LinkedHashMap<>(start);
    QuantParams cur = params;
    List<LayerReport> reports = new ArrayList<>();
    shards.start(new Decided(tuned, cur));
    double net = Double.NaN;
    List<Node> nodes = graph.nodes();
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      if (plan.excludedBy(n) != null && LayerFit.unsupported(n) == null) {
        reports.add(LayerReport.skipped(n.name(), "kept in float by layer rule " + plan.excludedBy(n)));
        continue;
      }
      if (!cur.params().containsKey(n.input(1))) continue;
      String why = LayerFit.unsupported(n);
      if (why == null && (plan.pointOf(n.input(0)) == null || plan.pointOf(n.outputs().get(0)) == null)) {
        why = "outside the quantized region";
      }
      if (why != null) {
        reports.add(LayerReport.skipped(n.name(), why));
        continue;
      }
      shards.advance(i, new Decided(tuned, cur));
      if (Double.isNaN(net)) net = check.applyAsDouble(new Decided(tuned, cur));
      long t0 = System.nanoTime();
      float[] w0 = tuned.getOrDefault(n.input(1), graph.initializers().get(n.input(1)).data());
      float[] b0 = n.hasInput(2) ? tuned.getOrDefault(n.input(2), graph.initializers().get(n.input(2)).data()) : null;
      Candidate c = tuner.tune(i, w0, b0, cur);
      Map<String, float[]> withLayer = new LinkedHashMap<>(tuned);
      withLayer.put(n.input(1), c.weights().weight());
      if (c.weights().bias() != null) withLayer.put(n.input(2), c.weights().bias());
      double err = check.applyAsDouble(new Decided(withLayer, c.params()));
      boolean keep = err < net;
      LayerReport.FixPoints fps = new LayerReport.FixPoints(cur.params().get(n.input(1)).fixPoint(),
          c.params().params().get(n.input(1)).fixPoint(), cur.activation(plan.pointOf(n.outputs().get(0))).fixPoint(),
          c.params().activation(plan.pointOf(n.outputs().get(0))).fixPoint());
      LayerReport r = new LayerReport(n.name(), null, steps, new LayerReport.Mse(c.layerBefore(), c.layerAfter()),
          new LayerReport.Mse(net, err), keep, fps, (System.nanoTime() - t0) / 1e9);
      if (keep) {
        tuned = withLayer;
        cur = c.params();
        net = err;
      }
      reports.add(r);
      if (log != null) log.accept(r.summary());
    }
    Map<String, Tensor> inits = new LinkedHashMap<>(graph.initializers());
    tuned.forEach((k, v) -> inits.put(k, Tensor.of(v, graph.initializers().get(k).shape())));
    return new Outcome(graph.withNodes(graph.nodes(), inits), cur, reports);
  }

  /** The tuned layer's weights, the decisions with them, and its output over the shards. */
  record Refit(LayerWeights weights, QuantParams params, LayerOutput output) {}

  /**
   * The decisions with a tuned layer: its weight and bias fix_points as given in {@code ps},
   * and its output fix_point chosen again from what the tuned layer now outputs (when the point
   * holds this layer's values only), all legalised. If that would move a fix_point an earlier
   * layer was tuned against, the decisions stay {@code cur} and the layer computes as
   * {@code fallback}.
   */
  static Refit refit(Problem p, QuantParams cur, int layer, LayerWeights lw, Map<String, FixPoint> ps,
      LayerWeights fallback) {
    final Graph g = p.graph();
    final QuantPlan plan = p.plan();
    final Shards shards = p.shards();
    Node n = g.nodes().get(layer);
    LayerOutput out = shards.output(layer, lw);
    Map<String, FixPoint> acts = new LinkedHashMap<>(cur.activations());
    QuantPlan.ActivationPoint point = point(plan, plan.pointOf(n.outputs().get(0)));
    if (point.name().equals(n.outputs().get(0)) && ownedBy(g, point)) {
      acts.put(point.name(), QuantParams.activation(g, point, out.histogram(), p.cfg()));
    }
    QuantParams cand = QuantParams.legalized(g, plan, acts, ps);
    if (!upstreamUnchanged(g, plan, cur, cand, layer)) {
      // the new fix_points would move a point earlier layers were tuned against: keep the old ones
      return new Refit(fallback, cur, fallback == lw ? out : shards.output(layer, fallback));
    }
    return new Refit(lw, cand, out);
  }

  private static QuantPlan.ActivationPoint point(QuantPlan plan, String name) {
    for (QuantPlan.ActivationPoint a : plan.activations()) if (a.name().equals(name)) return a;
    throw new IllegalStateException("no activation point " + name);
  }

  /** Whether the point holds only this layer's values (not a Concat's shared buffer). */
  private static boolean ownedBy(Graph g, QuantPlan.ActivationPoint p) {
    for (String m : p.members()) {
      Node prod = g.producer(m);
      if (prod == null || prod.opType().equals("Concat")) return false;
    }
    return true;
  }

  /** No fix_point read by a node before the layer changed. */
  private static boolean upstreamUnchanged(Graph g, QuantPlan plan, QuantParams a, QuantParams b, int layer) {
    List<Node> nodes = g.nodes();
    for (int i = 0; i < layer; i++) {
      for (String v : nodes.get(i).inputs()) {
        if (a.params().containsKey(v) && !a.params().get(v).equals(b.params().get(v))) return false;
        String pt = plan.pointOf(v);
        if (pt != null && !a.activation(pt).equals(b.activation(pt))) return false;
      }
      for (String v : nodes.get(i).outputs()) {
        String pt = plan.pointOf(v);
        if (pt != null && !a.activation(pt).equals(b.activation(pt))) return false;
      }
    }
    return true;
  }
}

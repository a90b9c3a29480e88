package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * AdaQuant (Hubara et al. 2020, arXiv:2006.10518) as Vitis AI's fast fine-tune does it: layer
 * by layer in topological order, each Conv/Gemm with its fused activation, Adam on the layer's
 * weights and bias (learning rate proportional to their std) minimizing
 * mse(quantized layer on quantized inputs, float layer on float inputs) + mse(W, W_float),
 * straight-through through the weight quantizer. A layer's update is kept only if the error
 * of the whole model's outputs against the float model's falls; then the layer's weight, bias
 * and output fix_points are chosen again for the tuned weights. Runs on the driver; the data
 * side (activations, gradients, errors) is a {@link Shards}.
 */
public final class AdaQuant {
  private AdaQuant() {}

  /**
   * @param graph the inference graph (BatchNorm folded, activations fused) the params are for
   * @return the graph with tuned weights, the fix_points, and what happened to each layer
   */
  public static Result run(Graph graph, QuantPlan plan, QuantParams params, QuantConfig cfg, AdaQuantOptions opt,
      Shards shards, Consumer<String> log) {
    return run(graph, Map.of(), plan, params, cfg, opt, shards, log);
  }

  /**
   * The same with the quantized model starting from other values of some initializers than the
   * float model has: bias correction's biases. The float graph stays the target, so each layer
   * is tuned towards the float model's own outputs, not towards outputs shifted by the
   * correction (which would undo it); untuned layers keep the start values.
   *
   * @param graph the float inference graph: the targets of the layers and of the end-to-end check
   * @param start initializer values (same shapes) the quantized model starts from instead of the graph's
   */
  public static Result run(Graph graph, Map<String, float[]> start, QuantPlan plan, QuantParams params, QuantConfig cfg,
      AdaQuantOptions opt, Shards shards, Consumer<String> log) {
    if (!cfg.dpuStyle()) {
      throw new IllegalArgumentException("AdaQuant tunes per-tensor power-of-two (DPU) calibrations only, not "
          + cfg.weightGranularity().key() + " weights with " + cfg.scales().key() + " scales");
    }
    Map<String, float[]> tuned = new LinkedHashMap<>(start);
    QuantParams cur = params;
    List<LayerReport> reports = new ArrayList<>();
    shards.start(new Decided(tuned, cur));
    double net = Double.NaN;
    List<Node> nodes = graph.nodes();
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
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
      if (Double.isNaN(net)) net = shards.endToEnd(new Decided(tuned, cur));
      long t0 = System.nanoTime();
      Candidate c = tune(graph, tuned, plan, cur, cfg, opt, shards, i);
      Map<String, float[]> withLayer = new LinkedHashMap<>(tuned);
      withLayer.put(n.input(1), c.weights.weight());
      if (c.weights.bias() != null) withLayer.put(n.input(2), c.weights.bias());
      double err = shards.endToEnd(new Decided(withLayer, c.params));
      boolean keep = err < net;
      LayerReport r = new LayerReport(n.name(), null, opt.steps(), c.layerBefore, c.layerAfter, net, err, keep,
          cur.params().get(n.input(1)).fixPoint(), c.params.params().get(n.input(1)).fixPoint(),
          cur.activation(plan.pointOf(n.outputs().get(0))).fixPoint(),
          c.params.activation(plan.pointOf(n.outputs().get(0))).fixPoint(), (System.nanoTime() - t0) / 1e9);
      if (keep) {
        tuned = withLayer;
        cur = c.params;
        net = err;
      }
      reports.add(r);
      if (log != null) log.accept(r.summary());
    }
    Map<String, Tensor> inits = new LinkedHashMap<>(graph.initializers());
    tuned.forEach((k, v) -> inits.put(k, Tensor.of(v, graph.initializers().get(k).shape())));
    return new Result(graph.withNodes(graph.nodes(), inits), cur, reports);
  }

  public record Result(Graph graph, QuantParams params, List<LayerReport> layers) {}

  private record Candidate(LayerWeights weights, QuantParams params, double layerBefore, double layerAfter) {}

  private static Candidate tune(Graph g, Map<String, float[]> tuned, QuantPlan plan, QuantParams cur, QuantConfig cfg,
      AdaQuantOptions opt, Shards shards, int layer) {
    Node n = g.nodes().get(layer);
    float[] w0 = tuned.getOrDefault(n.input(1), g.initializers().get(n.input(1)).data());
    float[] b0 = n.hasInput(2) ? tuned.getOrDefault(n.input(2), g.initializers().get(n.input(2)).data()) : null;
    FixPoint wq = cur.params().get(n.input(1));
    FixPoint bq = b0 == null ? null : cur.params().get(n.input(2));
    float[] w = w0.clone();
    float[] b = b0 == null ? null : b0.clone();
    // Vitis: a layer whose weights already quantize well (SQNR / 8 > 4.5) moves ten times slower
    double lr = opt.lrScale() * (sqnr(w0, wq) / 8 > 4.5 ? 0.1 : 1);
    Adam aw = new Adam(w.length, lr * std(w0));
    Adam ab = b == null || b.length < 2 ? null : new Adam(b.length, lr * std(b0));
    double before = Double.NaN;
    for (int s = 0; s < opt.steps(); s++) {
      GradientSum.Total t = shards.gradient(layer, new LayerWeights(w, b, wq, bq), (int) Math.floorMod(opt.seed() + s, 1L << 30)).total();
      if (s == 0) before = t.mse();
      double[] gw = new double[w.length];
      for (int i = 0; i < w.length; i++) gw[i] = t.gradient()[i] / t.count() + 2.0 * (w[i] - w0[i]) / w.length;
      steThrough(wq, w, gw);
      aw.step(w, gw);
      if (ab != null) {
        double[] gb = new double[b.length];
        for (int i = 0; i < b.length; i++) gb[i] = t.gradient()[w.length + i] / t.count();
        steThrough(bq, b, gb);
        ab.step(b, gb);
      }
    }
    // fix_points again for the tuned weights and what the tuned layer now outputs
    Map<String, Tensor> inits = new HashMap<>(g.initializers());
    inits.put(n.input(1), Tensor.of(w, g.initializers().get(n.input(1)).shape()));
    if (b != null) inits.put(n.input(2), Tensor.of(b, b.length));
    Graph tunedGraph = g.withNodes(g.nodes(), inits);
    Map<String, FixPoint> fresh = QuantParams.params(tunedGraph, plan, cfg);
    Map<String, FixPoint> ps = new LinkedHashMap<>(cur.params());
    ps.put(n.input(1), fresh.get(n.input(1)));
    if (b != null) ps.put(n.input(2), fresh.get(n.input(2)));
    LayerWeights lw = new LayerWeights(w, b, ps.get(n.input(1)), b == null ? null : ps.get(n.input(2)));
    LayerOutput out = shards.output(layer, lw);
    Map<String, FixPoint> acts = new LinkedHashMap<>(cur.activations());
    QuantPlan.ActivationPoint point = point(plan, plan.pointOf(n.outputs().get(0)));
    if (point.name().equals(n.outputs().get(0)) && ownedBy(g, point, n)) {
      acts.put(point.name(), QuantParams.activation(g, point, out.histogram(), cfg));
    }
    QuantParams cand = QuantParams.legalized(g, plan, acts, ps);
    if (!upstreamUnchanged(g, plan, cur, cand, layer)) {
      // the new fix_points would move a point earlier layers were tuned against: keep the old ones
      cand = cur;
      lw = new LayerWeights(w, b, wq, bq);
      out = shards.output(layer, lw);
    }
    if (opt.steps() == 0) before = out.mse();
    return new Candidate(lw, cand, before, out.mse());
  }

  /** The straight-through estimator of the weight quantizer: no gradient where it saturates. */
  private static void steThrough(FixPoint q, float[] w, double[] g) {
    double lo = q.qmin() * q.step(), hi = q.qmax() * q.step();
    for (int i = 0; i < w.length; i++) if (!(w[i] >= lo && w[i] <= hi)) g[i] = 0;
  }

  private static QuantPlan.ActivationPoint point(QuantPlan plan, String name) {
    for (QuantPlan.ActivationPoint a : plan.activations()) if (a.name().equals(name)) return a;
    throw new IllegalStateException("no activation point " + name);
  }

  /** Whether the point holds only this layer's values (not a Concat's shared buffer). */
  private static boolean ownedBy(Graph g, QuantPlan.ActivationPoint p, Node n) {
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

  static double std(float[] x) {
    double s = 0, s2 = 0;
    for (float v : x) {
      s += v;
      s2 += (double) v * v;
    }
    double m = s / x.length;
    return Math.sqrt(Math.max(0, s2 / x.length - m * m) * x.length / Math.max(1, x.length - 1));
  }

  /** Signal to quantization noise of the weights, in dB. */
  static double sqnr(float[] w, FixPoint q) {
    double sig = 0, noise = 0;
    for (float v : w) {
      double e = v - q.fake(v);
      sig += (double) v * v;
      noise += e * e;
    }
    return noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(sig / noise);
  }
}

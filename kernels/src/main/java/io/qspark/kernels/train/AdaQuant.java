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
    LayerwiseTuning.Problem p = new LayerwiseTuning.Problem(graph, plan, cfg, shards);
    LayerwiseTuning.Outcome o = LayerwiseTuning.run(p, start, params, opt.steps(), shards::endToEnd,
        (layer, w0, b0, cur) -> tune(p, opt, cur, layer, w0, b0), log);
    return new Result(o.graph(), o.params(), o.layers());
  }

  public record Result(Graph graph, QuantParams params, List<LayerReport> layers) {}

  private static LayerwiseTuning.Candidate tune(LayerwiseTuning.Problem p, AdaQuantOptions opt, QuantParams cur, int layer,
      float[] w0, float[] b0) {
    final Graph g = p.graph();
    final Shards shards = p.shards();
    Node n = g.nodes().get(layer);
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
    Map<String, FixPoint> fresh = QuantParams.params(tunedGraph, p.plan(), p.cfg());
    Map<String, FixPoint> ps = new LinkedHashMap<>(cur.params());
    ps.put(n.input(1), fresh.get(n.input(1)));
    if (b != null) ps.put(n.input(2), fresh.get(n.input(2)));
    LayerWeights lw = new LayerWeights(w, b, ps.get(n.input(1)), b == null ? null : ps.get(n.input(2)));
    LayerwiseTuning.Refit r = LayerwiseTuning.refit(p, cur, layer, lw, ps, new LayerWeights(w, b, wq, bq));
    if (opt.steps() == 0) before = r.output().mse();
    return new LayerwiseTuning.Candidate(r.weights(), r.params(), before, r.output().mse());
  }

  /** The straight-through estimator of the weight quantizer: no gradient where it saturates. */
  private static void steThrough(FixPoint q, float[] w, double[] g) {
    double lo = q.qmin() * q.step(), hi = q.qmax() * q.step();
    for (int i = 0; i < w.length; i++) if (!(w[i] >= lo && w[i] <= hi)) g[i] = 0;
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

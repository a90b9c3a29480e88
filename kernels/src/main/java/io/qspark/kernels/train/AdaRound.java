package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * AdaRound (Nagel et al. 2020, arXiv:2004.10568): learned rounding of each layer's weights.
 * Layer by layer in topological order ({@link LayerwiseTuning}), each Conv/Gemm with its fused
 * activation keeps its weight fix_point and learns, per weight, whether it rounds down or up:
 * Adam on the rounding variables V of {@link SoftRounding} minimizing the layer's
 * reconstruction error, |act(W~ x~ + b) − act(W x + b)|² summed over output channels and
 * averaged over images and positions (x~ the quantized model's input to the layer, W x + b the
 * float layer), plus λ times the rounding regularizer, switched on after a warm-up and annealed
 * from β = 20 to 2 so that the soft rounding ends hard. Each weight is then the floor or the
 * ceiling of w / s (clipped to the grid's range), so the result is its own fake-quantized value.
 * As AdaQuant, the layer's output fix_point is chosen again for what it now outputs, and the
 * update is kept only if the model's output error against the float model falls. Biases stay
 * as they are (quantized at their own fix_point). Runs on the driver; the data side is a
 * {@link Shards}: each step's images are a window of an {@link ImageOrder} spread over the data,
 * each image's gradient is computed on its own and summed exactly, and the end-to-end check is on
 * the order's first images, summed exactly: the result is the same bits for any partitioning.
 */
public final class AdaRound {
  private AdaRound() {}

  public record Result(Graph graph, QuantParams params, List<LayerReport> layers) {}

  /**
   * @param graph the float inference graph (BatchNorm folded, activations fused): the targets
   * @param start initializer values the quantized model starts from instead of the graph's (bias
   *     correction's biases, AdaQuant's weights)
   * @return the graph with every kept layer's weights rounded as learnt (grid values), the fix_points, a report per layer
   */
  public static Result run(Graph graph, Map<String, float[]> start, QuantPlan plan, QuantParams params, QuantConfig cfg,
      AdaRoundOptions opt, Shards shards, Consumer<String> log) {
    if (!cfg.dpuStyle()) {
      throw new IllegalArgumentException("AdaRound tunes per-tensor power-of-two (DPU) calibrations only, not "
          + cfg.weightGranularity().key() + " weights with " + cfg.scales().key() + " scales");
    }
    LayerwiseTuning.Problem p = new LayerwiseTuning.Problem(graph, plan, cfg, shards);
    // the order is fixed once the shards exist (it needs the number of images); every window of
    // it, and the check's images, spread over the data so that every shard works on every step
    ImageOrder[] order = new ImageOrder[1];
    LayerwiseTuning.Outcome o = LayerwiseTuning.run(p, start, params, opt.steps(),
        d -> shards.endToEndExact(d, order(order, opt, shards), opt.checkImages()),
        (layer, w0, b0, cur) -> tune(p, opt, order(order, opt, shards), cur, layer, w0, b0), log);
    return new Result(o.graph(), o.params(), o.layers());
  }

  public static Result run(Graph graph, QuantPlan plan, QuantParams params, QuantConfig cfg, AdaRoundOptions opt,
      Shards shards, Consumer<String> log) {
    return run(graph, Map.of(), plan, params, cfg, opt, shards, log);
  }

  private static ImageOrder order(ImageOrder[] memo, AdaRoundOptions opt, Shards shards) {
    if (memo[0] == null) memo[0] = ImageOrder.spread(shards.images(), opt.imagesPerStep());
    return memo[0];
  }

  private static LayerwiseTuning.Candidate tune(LayerwiseTuning.Problem p, AdaRoundOptions opt, ImageOrder order,
      QuantParams cur, int layer, float[] w0, float[] b0) {
    final Graph g = p.graph();
    final Shards shards = p.shards();
    Node n = g.nodes().get(layer);
    FixPoint wq = cur.params().get(n.input(1));
    FixPoint bq = b0 == null ? null : cur.params().get(n.input(2));
    int channels = outputChannels(n, g.initializers().get(n.input(1)).shape());
    // the layer's error with the weights rounded to nearest, what AdaRound is to improve on
    double before = shards.output(layer, new LayerWeights(w0, b0, wq, bq)).mse();
    RoundingFit fit = shards.fitRounding(layer, new RoundingFit(w0, wq, b0, bq, channels, opt, order, shards.images()));
    LayerWeights hard = new LayerWeights(fit.hard(), b0, wq, bq);
    LayerwiseTuning.Refit f = LayerwiseTuning.refit(p, cur, layer, hard, cur.params(), hard);
    return new LayerwiseTuning.Candidate(f.weights(), f.params(), before, f.output().mse());
  }

  /** Where step s's images start in the {@link ImageOrder}: consecutive windows from the seed's, wrapping around. */
  static long window(AdaRoundOptions opt, int s, long images) {
    int per = opt.imagesPerStep() <= 0 ? 0 : opt.imagesPerStep();
    return Math.floorMod((opt.seed() + s) * per, images);
  }

  /** Output channels of a Conv ([O, I/g, kh, kw]) or Gemm (B [N, K] with transB, else [K, N]). */
  static int outputChannels(Node n, int[] weightShape) {
    if (n.opType().equals("Gemm")) return n.attributes().getInt("transB", 0) != 0 ? weightShape[0] : weightShape[1];
    return weightShape[0];
  }
}

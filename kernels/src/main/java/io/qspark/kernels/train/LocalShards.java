package io.qspark.kernels.train;

import io.qspark.kernels.exec.Futures;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Shards in this JVM: the images split into {@code parts} consecutive blocks, as a Spark job
 * with that many partitions would split them, each processed on one of {@code threads}
 * threads. Gives the same results as the Spark job on the same partitioning.
 */
public final class LocalShards implements Shards {
  private final ShardContext ctx;
  private final Tensor data;
  private final int parts;
  private final int perStep;
  private final int checkImages;
  private final ExecutorService pool;
  private List<Shard> shards;

  /**
   * @param perStep images per shard and optimizer step (0: all of them)
   */
  public LocalShards(Graph graph, QuantPlan plan, Tensor data, int parts, int threads, int perStep) {
    this(graph, plan, data, parts, threads, perStep, 0);
  }

  /** Shards for AdaQuant with these options' images per step and images of the end-to-end check. */
  public LocalShards(Graph graph, QuantPlan plan, Tensor data, int parts, int threads, AdaQuantOptions opt) {
    this(graph, plan, data, parts, threads, opt.imagesPerStep(), opt.checkImages());
  }

  /** Shards for AdaRound with these options' images per step and images of the end-to-end check. */
  public LocalShards(Graph graph, QuantPlan plan, Tensor data, int parts, int threads, AdaRoundOptions opt) {
    this(graph, plan, data, parts, threads, opt.imagesPerStep(), opt.checkImages());
  }

  private LocalShards(Graph graph, QuantPlan plan, Tensor data, int parts, int threads, int perStep, int checkImages) {
    this.checkImages = checkImages;
    this.ctx = new ShardContext(graph, plan);
    this.data = data;
    this.parts = Math.max(1, Math.min(parts, data.dim(0)));
    this.perStep = perStep;
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "adaquant-shard");
      t.setDaemon(true);
      return t;
    });
  }

  private <T> List<T> each(Function<Integer, T> f) {
    List<Future<T>> fs = new ArrayList<>();
    for (int i = 0; i < parts; i++) {
      int p = i;
      fs.add(pool.submit(() -> f.apply(p)));
    }
    List<T> r = new ArrayList<>();
    for (Future<T> x : fs) r.add(Futures.join(x));
    return r;
  }

  @Override
  public void start(Decided d) {
    int n = data.dim(0);
    shards = each(p -> Shard.start(ctx, p, data.slice0((int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts)), d));
  }

  @Override
  public void advance(int layer, Decided d) {
    List<Shard> old = shards;
    shards = each(p -> old.get(p).advance(ctx, layer, d));
  }

  @Override
  public GradientSum gradient(int layer, LayerWeights lw, int step) {
    GradientSum sum = new GradientSum();
    List<GradientSum.Part> ps = each(p -> shards.get(p).gradient(ctx, layer, lw, step, perStep));
    for (int p = 0; p < ps.size(); p++) sum.add(p, ps.get(p));
    return sum;
  }

  @Override
  public LayerOutput output(int layer, LayerWeights lw) {
    List<LayerOutput> outs = each(p -> shards.get(p).output(ctx, layer, lw));
    LayerOutput r = outs.get(0);
    for (int p = 1; p < outs.size(); p++) r = r.merge(outs.get(p));
    return r;
  }

  @Override
  public double endToEnd(Decided d) {
    List<double[]> es = each(p -> shards.get(p).endToEnd(ctx, d, checkImages));
    double sse = 0, count = 0;
    for (double[] e : es) {
      sse += e[0];
      count += e[1];
    }
    return sse / count;
  }

  /** The global index of shard p's first image. */
  private long offset(int p) {
    return (long) data.dim(0) * p / parts;
  }

  @Override
  public long images() {
    return data.dim(0);
  }

  @Override
  public ExactGradient exactGradient(int layer, LayerWeights lw, ImageOrder order, long from, int count) {
    List<ExactGradient> gs = each(p -> shards.get(p).exactGradient(ctx, layer, lw, offset(p), order, from, count));
    ExactGradient sum = gs.get(0);
    for (int p = 1; p < gs.size(); p++) sum.merge(gs.get(p));
    return sum;
  }

  @Override
  public double endToEndExact(Decided d, ImageOrder order, long limit) {
    List<ExactError> es = each(p -> shards.get(p).endToEndExact(ctx, d, offset(p), order, limit));
    ExactError e = es.get(0);
    for (int p = 1; p < es.size(); p++) e.merge(es.get(p));
    return e.mse();
  }

  @Override
  public void close() {
    pool.shutdownNow();
    shards = null;
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FakeQuant;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Histogram;
import io.qspark.kernels.tensor.Tensor;
import java.util.List;

/**
 * One partition's cached activations for layer-wise fine-tuning: the float model run as far as
 * the current layer's output, the quantized model (with every decision so far) as far as its
 * input, and the float model's outputs for the end-to-end check. Layers are visited in
 * topological order, so each advance runs only the nodes in between; values no node ahead
 * reads are dropped. Immutable from the caller's view: advancing returns a new shard (Spark
 * may still hold the old one in its cache).
 */
public final class Shard implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final int partition;
  private final int images;
  private final Values floats;
  private final Values quantized;
  private final Values outputs;
  private final int floatPos;
  private final int quantPos;

  private Shard(int partition, int images, Values floats, Values quantized, Values outputs, int floatPos, int quantPos) {
    this.partition = partition;
    this.images = images;
    this.floats = floats;
    this.quantized = quantized;
    this.outputs = outputs;
    this.floatPos = floatPos;
    this.quantPos = quantPos;
  }

  /** A shard of the given input batch with nothing run yet but the float model's outputs. */
  public static Shard start(ShardContext ctx, int partition, Tensor input, Decided d) {
    return start(ctx, partition, java.util.Map.of(ctx.graph.inputs().get(0).name(), input), d);
  }

  /** The same for a model of any inputs: {@code feeds} holds every input's batch (the same images). */
  public static Shard start(ShardContext ctx, int partition, java.util.Map<String, Tensor> feeds, Decided d) {
    Values f = new Values(), q = new Values(), out = new Values();
    int images = -1;
    for (var e : feeds.entrySet()) {
      f.put(e.getKey(), e.getValue());
      q.put(e.getKey(), quantize(ctx, d, e.getKey(), e.getValue()));
      images = e.getValue().dim(0);
    }
    ctx.executor.run(feeds).forEach(out::put);
    return new Shard(partition, images, f, q, out, 0, 0);
  }

  public int partition() {
    return partition;
  }

  public int images() {
    return images;
  }

  /** Float values through the layer's output, quantized values up to its input. */
  public Shard advance(ShardContext ctx, int layer, Decided d) {
    Values f = new Values(floats), q = new Values(quantized);
    runFloat(ctx, f, floatPos, layer + 1);
    runQuantized(ctx, q, quantPos, layer, d, true);
    return new Shard(partition, images, f, q, outputs, layer + 1, layer);
  }

  /**
   * The layer's error and gradient over {@code perStep} images starting at image
   * step * perStep (wrapping around), or all images when perStep is 0.
   */
  public GradientSum.Part gradient(ShardContext ctx, int layer, LayerWeights lw, int step, int perStep) {
    Node n = ctx.graph.nodes().get(layer);
    Tensor x = quantized.get(n.input(0)), f = floats.get(n.outputs().get(0));
    int[] ws = ctx.graph.initializers().get(n.input(1)).shape();
    LayerFit fit = ctx.fit(layer);
    if (perStep <= 0 || perStep >= images) return fit.gradient(x, f, lw, ws, 0, images);
    int from = (int) ((long) step * perStep % images), to = from + perStep;
    GradientSum.Part a = fit.gradient(x, f, lw, ws, from, Math.min(to, images));
    if (to <= images) return a;
    GradientSum.Part b = fit.gradient(x, f, lw, ws, 0, to - images);
    double[] g = a.gradient().clone();
    for (int i = 0; i < g.length; i++) g[i] += b.gradient()[i];
    return new GradientSum.Part(g, a.squaredError() + b.squaredError(), a.count() + b.count());
  }

  /**
   * The layer's gradient over the images of a window of the data, summed exactly image by image:
   * the images at positions [from, from + count) of {@code order}, wrapping around, of which this
   * shard holds those among the data's images [offset, offset + images). Every shard adding its
   * part of the same window gives the same total for any partitioning.
   */
  public ExactGradient exactGradient(ShardContext ctx, int layer, LayerWeights lw, long offset, ImageOrder order,
      long from, int count) {
    Node n = ctx.graph.nodes().get(layer);
    Tensor x = quantized.get(n.input(0)), f = floats.get(n.outputs().get(0));
    int[] ws = ctx.graph.initializers().get(n.input(1)).shape();
    ExactGradient acc = new ExactGradient(lw.weight().length + (lw.bias() == null ? 0 : lw.bias().length));
    int[] mine = order.select(offset, images, from, count);
    if (mine.length > 0) ctx.fit(layer).addGradients(x, f, lw, ws, mine, acc);
    return acc;
  }

  /** The tuned layer's output: histogram for its fix_point and error against the float layer. */
  public LayerOutput output(ShardContext ctx, int layer, LayerWeights lw) {
    Node n = ctx.graph.nodes().get(layer);
    Tensor y = ctx.fit(layer).forward(quantized.get(n.input(0)), lw, ctx.graph.initializers().get(n.input(1)).shape());
    float[] yd = y.data(), fd = floats.get(n.outputs().get(0)).data();
    Histogram h = new Histogram();
    h.update(yd);
    double sse = 0;
    for (int i = 0; i < yd.length; i++) {
      double e = yd[i] - fd[i];
      sse += e * e;
    }
    return new LayerOutput(h, sse, yd.length);
  }

  /** Images per pass of the end-to-end check: activations of a few images stay in cache, a whole partition's would not. */
  private static final int CHUNK = 50;

  /** {squared error, count} of the quantized model's outputs under d against the float model's. */
  public double[] endToEnd(ShardContext ctx, Decided d) {
    return endToEnd(ctx, d, 0);
  }

  /** The same on the shard's first {@code limit} images (0: all). */
  public double[] endToEnd(ShardContext ctx, Decided d, int limit) {
    int n = limit <= 0 ? images : Math.min(limit, images);
    double sse = 0;
    long count = 0;
    for (int from = 0; from < n; from += CHUNK) {
      int to = Math.min(n, from + CHUNK);
      Values q = new Values();
      for (String name : quantized.names()) q.put(name, quantized.get(name).slice0(from, to));
      runQuantized(ctx, q, quantPos, ctx.graph.nodes().size(), d, true);
      for (String o : ctx.graph.outputs()) {
        float[] a = q.get(o).data(), b = outputs.get(o).data();
        int off = b.length / images * from;
        for (int i = 0; i < a.length; i++) {
          double e = a[i] - b[off + i];
          sse += e * e;
        }
        count += a.length;
      }
    }
    return new double[] {sse, count};
  }

  /**
   * The squared error of the quantized model's outputs under d against the float model's on the
   * images at the first {@code limit} positions of {@code order} (0: all), summed exactly; this
   * shard holds the data's images [offset, offset + images).
   */
  public ExactError endToEndExact(ShardContext ctx, Decided d, long offset, ImageOrder order, long limit) {
    int[] mine = order.select(offset, images, 0, limit);
    ExactError e = new ExactError();
    for (int from = 0; from < mine.length; from += CHUNK) {
      int to = Math.min(mine.length, from + CHUNK);
      Values q = new Values();
      for (String name : quantized.names()) q.put(name, rows(quantized.get(name), mine, from, to));
      runQuantized(ctx, q, quantPos, ctx.graph.nodes().size(), d, true);
      for (String o : ctx.graph.outputs()) e.add(q.get(o).data(), rows(outputs.get(o), mine, from, to).data());
    }
    return e;
  }

  /** Rows idx[from..to) of t's first axis, in that order. */
  private static Tensor rows(Tensor t, int[] idx, int from, int to) {
    if (idx[to - 1] - idx[from] == to - 1 - from) return t.slice0(idx[from], idx[to - 1] + 1);
    int per = t.size() / t.dim(0);
    int[] shape = t.shape();
    shape[0] = to - from;
    float[] r = new float[(to - from) * per];
    for (int k = from; k < to; k++) System.arraycopy(t.data(), idx[k] * per, r, (k - from) * per, per);
    return Tensor.of(r, shape);
  }

  private static void runFloat(ShardContext ctx, Values v, int from, int to) {
    List<Node> nodes = ctx.graph.nodes();
    for (int i = from; i < to; i++) {
      Node n = nodes.get(i);
      Tensor[] args = new Tensor[n.inputs().size()];
      for (int j = 0; j < args.length; j++) {
        String s = n.input(j);
        args[j] = s.isEmpty() ? null : ctx.graph.initializers().containsKey(s) ? ctx.graph.initializers().get(s) : v.get(s);
      }
      put(v, n, ctx.executor.op(i).forward(args), null, null);
      for (String r : ctx.releaseAfter.get(i)) v.remove(r);
    }
  }

  private static void runQuantized(ShardContext ctx, Values v, int from, int to, Decided d, boolean release) {
    List<Node> nodes = ctx.graph.nodes();
    for (int i = from; i < to; i++) {
      Node n = nodes.get(i);
      Tensor[] args = new Tensor[n.inputs().size()];
      for (int j = 0; j < args.length; j++) {
        String s = n.input(j);
        args[j] = s.isEmpty() ? null : ctx.graph.initializers().containsKey(s) ? d.initializer(ctx, s) : v.get(s);
      }
      put(v, n, ctx.executor.op(i).forward(args), ctx, d);
      if (release) for (String r : ctx.releaseAfter.get(i)) if (!ctx.graph.outputs().contains(r)) v.remove(r);
    }
  }

  private static void put(Values v, Node n, Tensor[] outs, ShardContext ctx, Decided d) {
    for (int j = 0; j < n.outputs().size() && j < outs.length; j++) {
      String name = n.outputs().get(j);
      if (name.isEmpty()) continue;
      v.put(name, ctx == null ? outs[j] : quantize(ctx, d, name, outs[j]));
    }
  }

  /** The value as the quantized model passes it on: fake-quantized at its point's fix_point. */
  private static Tensor quantize(ShardContext ctx, Decided d, String name, Tensor t) {
    String pt = ctx.plan.pointOf(name);
    FixPoint q = pt == null || !t.isFloat() ? null : d.params().activation(pt);
    if (q == null) return t;
    float[] out = new float[t.size()];
    FakeQuant.apply(q, t.data(), out, 0, out.length);
    return Tensor.of(out, t.shape());
  }
}

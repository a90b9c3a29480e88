package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.data.DataSource;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.AdaQuant;
import io.qspark.kernels.train.AdaQuantOptions;
import io.qspark.kernels.train.Decided;
import io.qspark.kernels.train.ExactError;
import io.qspark.kernels.train.ExactGradient;
import io.qspark.kernels.train.GradientSum;
import io.qspark.kernels.train.ImageOrder;
import io.qspark.kernels.train.LayerOutput;
import io.qspark.kernels.train.LayerWeights;
import io.qspark.kernels.train.RoundingFit;
import io.qspark.kernels.train.Shard;
import io.qspark.kernels.train.ShardContext;
import io.qspark.kernels.train.Shards;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * AdaQuant (fast fine-tune) as a Spark job. Each partition's images become one {@link Shard}
 * holding its cached activations, persisted MEMORY_AND_DISK and replaced (the old one
 * unpersisted) as the layers advance. Per Adam step the driver sends the layer's weights with the tasks,
 * every partition computes its gradient over its own images, and the parts come back
 * ({@link PartMerge}) as a {@link GradientSum}, summed in partition order: the tuned weights depend
 * on the partitioning only, never on task timing. The optimizer runs on the driver
 * ({@link AdaQuant}, the same code as the single-JVM path).
 */
public final class AdaQuantJob {
  private AdaQuantJob() {}

  /** Fine-tunes a calibrated model on a data source split into {@code partitions}. */
  public static AdaQuant.Result run(JavaSparkContext sc, DataSource data, ModelBlob model, ScoringPlan plan,
      QuantConfig cfg, QuantParams params, AdaQuantOptions opt, int partitions, Consumer<String> log) {
    return run(sc, data, model, Map.of(), plan, cfg, params, opt, partitions, log);
  }

  /**
   * The same with the quantized model starting from other initializer values than the float
   * model's ({@link AdaQuant#run(Graph, Map, QuantPlan, QuantParams, QuantConfig, AdaQuantOptions, Shards, Consumer)}).
   */
  public static AdaQuant.Result run(JavaSparkContext sc, DataSource data, ModelBlob model, Map<String, float[]> start,
      ScoringPlan plan, QuantConfig cfg, QuantParams params, AdaQuantOptions opt, int partitions, Consumer<String> log) {
    try {
      return run(sc, data.images(sc, partitions), model, start, plan, cfg, params, opt, log);
    } catch (RuntimeException e) {
      throw EvaluationJob.translate(e);
    }
  }

  /**
   * The same on images already in an RDD (its partitioning is the job's).
   *
   * @param params the calibration's fix_points for the model's inference graph
   * @return the inference graph with tuned weights, the fix_points after tuning, and a report per layer
   */
  public static AdaQuant.Result run(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob model,
      ScoringPlan plan, QuantConfig cfg, QuantParams params, AdaQuantOptions opt, Consumer<String> log) {
    return run(sc, images, model, Map.of(), plan, cfg, params, opt, log);
  }

  private static AdaQuant.Result run(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob model,
      Map<String, float[]> start, ScoringPlan plan, QuantConfig cfg, QuantParams params, AdaQuantOptions opt,
      Consumer<String> log) {
    Graph g = LoadedModels.get(model).model().graph();
    QuantPlan qp = QuantPlan.of(g, cfg);
    try (SparkShards shards = new SparkShards(sc, images, model, plan, cfg, opt)) {
      return AdaQuant.run(g, start, qp, params, cfg, opt, shards, log);
    } catch (Exception e) {
      throw EvaluationJob.translate(e);
    }
  }

  /** Contexts of the models this executor JVM tunes, by model and config. */
  private static final Map<String, ShardContext> CONTEXTS = new LinkedHashMap<>(4, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, ShardContext> e) {
      return size() > 2;
    }
  };

  static synchronized ShardContext context(ModelBlob blob, QuantConfig cfg) {
    String key = blob.key() + "/" + cfg;
    ShardContext c = CONTEXTS.get(key);
    if (c == null) {
      Graph g = LoadedModels.get(blob).model().graph();
      c = new ShardContext(g, QuantPlan.of(g, cfg));
      CONTEXTS.put(key, c);
    }
    return c;
  }

  /**
   * Shards as a persisted RDD, one per partition; also AdaRound's ({@link AdaRoundJob}), whose
   * exact variants locate each partition's images in the data by the partitions' sizes.
   */
  static final class SparkShards implements Shards {
    private final JavaSparkContext sc;
    private final JavaRDD<LabeledImage> images;
    private final Broadcast<ModelBlob> blob;
    private final ScoringPlan plan;
    private final QuantConfig cfg;
    private final int perStep;
    private final int checkImages;
    /** How the Spark UI names this stage's jobs ("AdaQuant", "AdaRound"). */
    private final String stage;
    private JavaRDD<Shard> shards;
    /** The data-order index of each partition's first image, once the shards exist (exact variants only). */
    private long[] offsets;
    private long total;
    /** Decisions the cached shards were computed with: kept alive while Spark may recompute a lost partition from its lineage. */
    private final List<Broadcast<Decided>> lineage = new ArrayList<>();

    SparkShards(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob model, ScoringPlan plan, QuantConfig cfg,
        AdaQuantOptions opt) {
      this(sc, images, model, plan, cfg, opt.imagesPerStep(), opt.checkImages(), "AdaQuant");
    }

    SparkShards(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob model, ScoringPlan plan, QuantConfig cfg,
        int perStep, int checkImages, String stage) {
      this.sc = sc;
      this.images = images;
      this.blob = sc.broadcast(model);
      this.plan = plan;
      this.cfg = cfg;
      this.perStep = perStep;
      this.checkImages = checkImages;
      this.stage = stage;
    }

    private void replace(JavaRDD<Shard> next) {
      next.persist(StorageLevel.MEMORY_AND_DISK());
      next.count();
      if (shards != null) shards.unpersist(false);
      shards = next;
    }

    @Override
    public void start(Decided d) {
      Broadcast<Decided> bd = sc.broadcast(d);
      Broadcast<ModelBlob> b = blob;
      ScoringPlan sp = plan;
      QuantConfig c = cfg;
      lineage.add(bd);
      replace(images.mapPartitionsWithIndex((idx, it) -> startShard(context(b.value(), c), idx, it, sp, bd.value()), true));
    }

    private static Iterator<Shard> startShard(ShardContext ctx, int idx, Iterator<LabeledImage> it, ScoringPlan sp, Decided d) {
      List<Map<String, Tensor>> batches = new ArrayList<>();
      InputBatches in = new InputBatches(it, sp);
      while (in.hasNext()) batches.add(in.next().feeds());
      if (batches.isEmpty()) return List.<Shard>of().iterator();
      Map<String, Tensor> feeds = new LinkedHashMap<>();
      for (String name : batches.get(0).keySet()) feeds.put(name, concat(batches.stream().map(b -> b.get(name)).toList()));
      return List.of(Shard.start(ctx, idx, feeds, d)).iterator();
    }

    private static Tensor concat(List<Tensor> ts) {
      if (ts.size() == 1) return ts.get(0);
      int n = 0, per = ts.get(0).size() / ts.get(0).dim(0);
      for (Tensor t : ts) n += t.dim(0);
      float[] x = new float[n * per];
      int off = 0;
      for (Tensor t : ts) {
        System.arraycopy(t.data(), 0, x, off, t.size());
        off += t.size();
      }
      int[] shape = ts.get(0).shape();
      shape[0] = n;
      return Tensor.of(x, shape);
    }

    @Override
    public void advance(int layer, Decided d) {
      Broadcast<Decided> bd = sc.broadcast(d);
      Broadcast<ModelBlob> b = blob;
      QuantConfig c = cfg;
      lineage.add(bd);
      sc.setJobGroup("qspark", "finetune: " + stage + ", caching the inputs of layer " + layer, false);
      replace(shards.map(s -> s.advance(context(b.value(), c), layer, bd.value())));
    }

    @Override
    public GradientSum gradient(int layer, LayerWeights lw, int step) {
      // one layer's weights (at most a few hundred KB) travel with the tasks: a broadcast per
      // step, created and destroyed, cost more than the step's own work on small layers
      Broadcast<ModelBlob> b = blob;
      QuantConfig c = cfg;
      int per = perStep;
      sc.setJobGroup("qspark", "finetune: " + stage + ", layer " + layer + ", step " + step, false);
      return PartMerge.merge(shards.map(new StepGradient(b, c, layer, lw, step, per)), new GradientSum(), GradientSum::merge);
    }

    @Override
    public LayerOutput output(int layer, LayerWeights lw) {
      Broadcast<ModelBlob> b = blob;
      QuantConfig c = cfg;
      List<Tuple2<Integer, LayerOutput>> outs = new ArrayList<>(shards.map(new Output(b, c, layer, lw)).collect());
      outs.sort(Comparator.comparing(Tuple2::_1));
      LayerOutput r = outs.get(0)._2();
      for (int i = 1; i < outs.size(); i++) r = r.merge(outs.get(i)._2());
      return r;
    }

    @Override
    public double endToEnd(Decided d) {
      Broadcast<Decided> bd = sc.broadcast(d);
      Broadcast<ModelBlob> b = blob;
      QuantConfig c = cfg;
      int limit = checkImages;
      List<Tuple2<Integer, double[]>> es = new ArrayList<>(shards
          .map(s -> new Tuple2<>(s.partition(), s.endToEnd(context(b.value(), c), bd.value(), limit))).collect());
      bd.destroy();
      es.sort(Comparator.comparing(Tuple2::_1));
      double sse = 0, count = 0;
      for (Tuple2<Integer, double[]> e : es) {
        sse += e._2()[0];
        count += e._2()[1];
      }
      return sse / count;
    }

    @Override
    public long images() {
      locate();
      return total;
    }

    /** Each partition's first image in the data's order: partitions hold consecutive runs of it, in partition order. */
    private void locate() {
      if (offsets != null) return;
      List<Tuple2<Integer, Integer>> sizes = shards.map(s -> new Tuple2<>(s.partition(), s.images())).collect();
      int parts = images.getNumPartitions();
      long[] n = new long[parts];
      for (Tuple2<Integer, Integer> t : sizes) n[t._1()] = t._2();
      long[] off = new long[parts];
      long sum = 0;
      for (int p = 0; p < parts; p++) {
        off[p] = sum;
        sum += n[p];
      }
      offsets = off;
      total = sum;
    }

    @Override
    public ExactGradient exactGradient(int layer, LayerWeights lw, ImageOrder order, long from, int count) {
      locate();
      Broadcast<ModelBlob> b = blob;
      QuantConfig c = cfg;
      long[] off = offsets;
      int size = lw.weight().length + (lw.bias() == null ? 0 : lw.bias().length);
      sc.setJobGroup("qspark", "finetune: " + stage + ", layer " + layer + ", images " + from + "+" + count, false);
      return PartMerge.merge(shards.map(new WindowGradient(b, c, layer, lw, off, order, from, count)), new ExactGradient(size),
          ExactGradient::merge);
    }

    /**
     * All of a layer's steps in one barrier job where one can run ({@link RoundingExchange}),
     * else one job per step; the same bits either way.
     */
    @Override
    public RoundingFit fitRounding(int layer, RoundingFit fit) {
      if (!RoundingExchange.possible(shards, fit.gradientSize())) return Shards.super.fitRounding(layer, fit);
      locate();
      sc.setJobGroup("qspark", "finetune: " + stage + ", layer " + layer + ", " + fit.steps() + " steps in one barrier job",
          false);
      return RoundingExchange.run(shards, blob, cfg, layer, offsets, fit);
    }

    @Override
    public double endToEndExact(Decided d, ImageOrder order, long limit) {
      locate();
      Broadcast<Decided> bd = sc.broadcast(d);
      Broadcast<ModelBlob> b = blob;
      QuantConfig c = cfg;
      long[] off = offsets;
      double mse = PartMerge.merge(shards.map(new Check(b, c, bd, off, order, limit)), new ExactError(), ExactError::merge).mse();
      bd.destroy();
      return mse;
    }

    // The per-step tasks as named classes rather than lambdas: Spark's ClosureCleaner reads a
    // lambda's enclosing class file (ASM) on every map, about a millisecond of the driver's CPU
    // per job here, hundreds of jobs per run, on the cores the tasks share in local mode.

    /** One AdaQuant step's gradient over the shard's images of the step (summed in float, by partition). */
    private record StepGradient(Broadcast<ModelBlob> blob, QuantConfig cfg, int layer, LayerWeights lw, int step, int per)
        implements Function<Shard, GradientSum> {
      @Override
      public GradientSum call(Shard s) {
        return new GradientSum().add(s.partition(), s.gradient(context(blob.value(), cfg), layer, lw, step, per));
      }
    }

    /** One AdaRound step's gradient over the shard's share of a window of the image order, summed exactly. */
    private record WindowGradient(Broadcast<ModelBlob> blob, QuantConfig cfg, int layer, LayerWeights lw, long[] offsets,
        ImageOrder order, long from, int count) implements Function<Shard, ExactGradient> {
      @Override
      public ExactGradient call(Shard s) {
        return s.exactGradient(context(blob.value(), cfg), layer, lw, offsets[s.partition()], order, from, count);
      }
    }

    /** A tuned layer's output over the shard (histogram and error), keyed by partition. */
    private record Output(Broadcast<ModelBlob> blob, QuantConfig cfg, int layer, LayerWeights lw)
        implements Function<Shard, Tuple2<Integer, LayerOutput>> {
      @Override
      public Tuple2<Integer, LayerOutput> call(Shard s) {
        return new Tuple2<>(s.partition(), s.output(context(blob.value(), cfg), layer, lw));
      }
    }

    /** The keep check: the model's output error under some decisions on the shard's images among the order's first. */
    private record Check(Broadcast<ModelBlob> blob, QuantConfig cfg, Broadcast<Decided> decided, long[] offsets,
        ImageOrder order, long limit) implements Function<Shard, ExactError> {
      @Override
      public ExactError call(Shard s) {
        return s.endToEndExact(context(blob.value(), cfg), decided.value(), offsets[s.partition()], order, limit);
      }
    }

    @Override
    public void close() {
      if (shards != null) shards.unpersist(false);
      shards = null;
      for (Broadcast<Decided> bd : lineage) bd.destroy();
      lineage.clear();
      if (blob.isValid()) blob.destroy();
    }
  }
}

package io.qspark.job.spark;

import io.qspark.job.base.UserError;

import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.train.EpochOrder;
import io.qspark.kernels.train.GradientSlices;
import io.qspark.kernels.train.QatGradient;
import io.qspark.kernels.train.QatLoss;
import io.qspark.kernels.train.QatTrainer;
import io.qspark.kernels.train.QatWeights;
import io.qspark.kernels.train.QatWorker;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Quantization-aware training as synchronous data-parallel Spark jobs. Per epoch, one shuffle
 * deals the epoch's micro-batches (drawn by {@link EpochOrder} from the seed) to the partitions,
 * micro-batch j of every step to partition j mod P, cached. Per step, the driver broadcasts the
 * weights, each partition computes the gradient parts of its micro-batches, and either {@link
 * PartMerge} brings them back as a {@link QatGradient} summed in micro-batch order on the driver,
 * or (large models, {@link #EXCHANGE}) they are reduce-scattered by a shuffle and summed slice by
 * slice in the same order on the executors ({@link #reduceScattered}); the driver's
 * {@link QatTrainer} applies the optimizer. The model depends on the seed and the data only:
 * not on the partition count, the executors or task timing.
 */
public final class QatJob {
  private QatJob() {}

  /** What the driver does between steps: checkpoints, validation, logging. */
  public interface Hooks {
    /** After each step (the trainer's step is then the number of steps done). */
    void afterStep(QatTrainer trainer, QatGradient.Total t);

    /** After the last step of an epoch (0-based). */
    void afterEpoch(QatTrainer trainer, int epoch);
  }

  /**
   * Trains from the trainer's step to {@code epochs} epochs.
   *
   * @param blob the float model (BatchNorm unfolded) with the calibration's quant_info.json
   */
  public static void run(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob blob, ScoringPlan plan,
      EpochOrder order, int epochs, int partitions, QatTrainer trainer, Hooks hooks) {
    run(sc, images, blob, plan, QatLossSpec.labels(), order, epochs, partitions, trainer, hooks);
  }

  /**
   * Trains from the trainer's step to {@code epochs} epochs under a loss.
   *
   * @param blob the float model (BatchNorm unfolded) with the calibration's quant_info.json; its
   *     float graph is also the distillation's teacher
   */
  public static void run(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob blob, ScoringPlan plan, QatLossSpec loss,
      EpochOrder order, int epochs, int partitions, QatTrainer trainer, Hooks hooks) {
    Broadcast<ModelBlob> b = sc.broadcast(blob);
    boolean labels = loss.readsLabels();
    JavaPairRDD<LabeledImage, Long> indexed = images.zipWithIndex();
    indexed.persist(StorageLevel.MEMORY_AND_DISK());
    int m = order.microBatchesPerStep();
    long perEpoch = order.stepsPerEpoch();
    JavaRDD<QatShard> shards = null;
    // the broadcasts the cached shards were dealt with: kept while Spark may recompute a lost
    // partition from its lineage (an executor lost mid-epoch), destroyed with the shards
    List<Broadcast<?>> lineage = new java.util.ArrayList<>();
    int shardEpoch = -1;
    try {
      long total = perEpoch * epochs;
      while (trainer.step() < total) {
        long step = trainer.step();
        int epoch = (int) (step / perEpoch);
        if (epoch != shardEpoch) {
          sc.setJobGroup("qspark", "qat: epoch " + (epoch + 1) + ", dealing micro-batches", false);
          List<Broadcast<?>> dealt = new java.util.ArrayList<>();
          JavaRDD<QatShard> next = deal(sc, indexed, order, epoch, partitions, dealt);
          if (shards != null) shards.unpersist(false);
      destroy(lineage);
          destroy(lineage);
          lineage = dealt;
          shards = next;
          shardEpoch = epoch;
        }
        QatWeights weights = trainer.weights();
        Broadcast<QatWeights> bw = sc.broadcast(weights);
        long s = step % perEpoch;
        sc.setJobGroup("qspark", "qat: epoch " + (epoch + 1) + ", step " + (s + 1) + "/" + perEpoch, false);
        JavaRDD<QatGradient> parts = shards.map(sh -> sh.gradient(worker(b.value()), loss(b.value(), loss), labels,
            bw.value(), plan, s, m));
        QatGradient.Total t;
        if (shuffled(sc, stepBytes(weights, m))) {
          t = reduceScattered(parts, slicing(weights, shards.getNumPartitions()), m, step);
        } else {
          QatGradient g = PartMerge.merge(parts, new QatGradient(), QatGradient::merge);
          requireAll(g, m, step);
          t = g.total();
        }
        bw.destroy();
        hooks.afterStep(trainer, trainer.apply(t));
        if (trainer.step() % perEpoch == 0) hooks.afterEpoch(trainer, epoch);
      }
    } catch (RuntimeException e) {
      throw EvaluationJob.translate(e);
    } finally {
      if (shards != null) shards.unpersist(false);
      destroy(lineage);
      indexed.unpersist(false);
      sc.clearJobGroup();
    }
  }

  /**
   * The Spark setting (or a local property of the calling thread, which wins) that chooses how a
   * step's gradient parts are reduced: {@code driver} (every part to the driver, summed there),
   * {@code shuffle} (reduce-scattered: {@link #reduceScattered}), or {@code auto} (the shuffle once
   * a step's parts would bring more than {@link #DRIVER_BYTES} to the driver). Both give the same bits.
   */
  static final String EXCHANGE = "spark.qspark.qat.exchange";

  /** auto's threshold: resnet_s's 16 parts of 0.7 MB stay on the driver path, resnet18's of 47 MB do not. */
  static final long DRIVER_BYTES = 128L << 20;

  static boolean shuffled(JavaSparkContext sc, long stepBytes) {
    String local = sc.getLocalProperty(EXCHANGE);
    String mode = local != null ? local : sc.getConf().get(EXCHANGE, "auto");
    switch (mode) {
      case "auto":
        return stepBytes > DRIVER_BYTES;
      case "driver":
        return false;
      case "shuffle":
        return true;
      default:
        throw new UserError(EXCHANGE + " must be auto, driver or shuffle, not '" + mode + "'");
    }
  }

  /** 4 bytes per trainable value per micro-batch: what a step's parts weigh. */
  static long stepBytes(QatWeights w, int microBatches) {
    long part = 0;
    for (String n : w.trainable()) part += 4L * w.values().get(n).length;
    return part * microBatches;
  }

  /** The trainable parameters, in the parts' order, cut into one slice per partition. */
  private static GradientSlices slicing(QatWeights w, int partitions) {
    int[] sizes = new int[w.trainable().size()];
    for (int i = 0; i < sizes.length; i++) sizes[i] = w.values().get(w.trainable().get(i)).length;
    return new GradientSlices(sizes, partitions);
  }

  private static void requireAll(QatGradient g, int m, long step) {
    if (g.parts() != m) throw new IllegalStateException("step " + step + " got " + g.parts() + " of " + m + " micro-batches");
  }

  /**
   * A step's parts reduced without bringing them to the driver (BigDL's reduce-scatter through
   * the block manager, here Spark's shuffle): each task cuts its micro-batches' gradients into
   * S slices, slice k of every part goes to reduce partition k, which sums them in micro-batch
   * order ({@link GradientSlices#add}, as {@link QatGradient#total()} sums whole parts, so the
   * same bits) and sends its one summed slice to the driver; the parts' other figures (loss,
   * BatchNorm statistics, threshold gradients: small) travel with slice 0. Per executor, the
   * bytes sent and received grow with its own micro-batches, not with the executor count; the
   * driver receives one gradient (in doubles) whatever the step's micro-batches. A lost
   * executor's map outputs are recomputed by Spark from the cached shards.
   */
  private static QatGradient.Total reduceScattered(JavaRDD<QatGradient> parts, GradientSlices slices, int m, long step) {
    int count = slices.slices();
    List<Tuple2<Integer, Tuple2<double[], QatGradient>>> sums = parts.flatMapToPair(g -> {
      List<Tuple2<Integer, Tuple2<Integer, Object>>> out = new java.util.ArrayList<>();
      for (Map.Entry<Integer, QatGradient.Part> e : g.byIndex().entrySet()) {
        float[][] grads = e.getValue().gradients();
        if (!java.util.Arrays.equals(GradientSlices.of(grads, 1).sizes(), slices.sizes())) {
          throw new IllegalStateException("a part's gradients do not match the trainable parameters");
        }
        for (int k = 0; k < count; k++) out.add(new Tuple2<>(k, new Tuple2<>(e.getKey(), slices.slice(grads, k))));
        out.add(new Tuple2<>(0, new Tuple2<>(e.getKey(), QatGradient.withoutGradients(e.getValue()))));
      }
      return out.iterator();
    }).partitionBy(new org.apache.spark.HashPartitioner(count)).mapPartitions(it -> {
      // one slice per reduce partition (keys 0..S-1, HashPartitioner: k mod S)
      java.util.TreeMap<Integer, float[]> bySlice = new java.util.TreeMap<>();
      QatGradient meta = new QatGradient();
      int k = -1;
      while (it.hasNext()) {
        Tuple2<Integer, Tuple2<Integer, Object>> r = it.next();
        k = r._1();
        if (r._2()._2() instanceof float[] f) {
          if (bySlice.put(r._2()._1(), f) != null) throw new IllegalStateException("micro-batch " + r._2()._1() + " twice in slice " + k);
        } else {
          meta.add(r._2()._1(), (QatGradient.Part) r._2()._2());
        }
      }
      if (k < 0) return java.util.Collections.emptyIterator();
      if (bySlice.size() != m) throw new IllegalStateException("step " + step + ": slice " + k + " of " + bySlice.size() + " of " + m + " micro-batches");
      double[] sum = new double[Math.toIntExact(slices.start(k + 1) - slices.start(k))];
      for (float[] f : bySlice.values()) GradientSlices.add(sum, f);
      return List.of(new Tuple2<>(k, new Tuple2<>(sum, k == 0 ? meta : null))).iterator();
    }).collect();
    double[][] bySlice = new double[count][];
    QatGradient meta = null;
    for (Tuple2<Integer, Tuple2<double[], QatGradient>> t : sums) {
      bySlice[t._1()] = t._2()._1();
      if (t._2()._2() != null) meta = t._2()._2();
    }
    for (int k = 0; k < count; k++) {
      if (bySlice[k] == null) throw new IllegalStateException("step " + step + ": no sum for gradient slice " + k);
    }
    if (meta == null) throw new IllegalStateException("step " + step + ": no micro-batch figures");
    requireAll(meta, m, step);
    return meta.total(slices.assemble(bySlice));
  }

  /**
   * Fails before training when a step's gradient parts would exceed what Spark lets one job
   * bring to the driver ({@code spark.driver.maxResultSize}, default 1 GiB, 0: no limit): every
   * micro-batch's part comes back whole (kept apart so they sum in micro-batch order), so a step
   * moves micro-batches x (4 bytes per trainable value). Spark would otherwise abort the first
   * step's job (resnet18 at 224: 47 MB a part, over the default from 23 micro-batches a step;
   * QatStepPartsBench).
   */
  public static void requireStepFitsDriver(JavaSparkContext sc, QatWeights w, int microBatches) {
    long part = stepBytes(w, 1);
    long limit = sc.getConf().getSizeAsBytes("spark.driver.maxResultSize", "1g");
    if (shuffled(sc, stepBytes(w, microBatches))) {
      // the summed slices, in doubles
      if (limit > 0 && 2 * part + (1L << 20) > limit) {
        throw new UserError(String.format(java.util.Locale.ROOT, "qat brings a step's summed gradient (%s in doubles) to"
            + " the driver, over spark.driver.maxResultSize (%s); raise it", StageMetrics.bytes(2 * part), StageMetrics.bytes(limit)));
      }
      return;
    }
    long need = part * microBatches;
    // a part's serialized form adds its arrays' headers and the loss figures: a few KB
    if (limit > 0 && need + 16_384L * microBatches > limit) {
      throw new UserError(String.format(java.util.Locale.ROOT,
          "qat brings each micro-batch's gradient (%s) to the driver: %d micro-batches a step need %s, over"
              + " spark.driver.maxResultSize (%s); reduce them on the executors (--conf %s=shuffle), raise the limit"
              + " (spark-submit --conf spark.driver.maxResultSize=%dm, or -Dspark.driver.maxResultSize=%dm in"
              + " QSPARK_JAVA_OPTS) or use a larger --micro-batch", StageMetrics.bytes(part), microBatches,
          StageMetrics.bytes(need), StageMetrics.bytes(limit), EXCHANGE, (need * 5 / 4) >> 20, (need * 5 / 4) >> 20));
    }
  }

  /** The epoch's micro-batches, micro-batch j of each step on partition j mod P. */
  private static void destroy(List<Broadcast<?>> bs) {
    for (Broadcast<?> b : bs) b.destroy();
    bs.clear();
  }

  /** @param lineage receives the broadcasts the returned RDD's lineage reads, for the caller to destroy with it */
  private static JavaRDD<QatShard> deal(JavaSparkContext sc, JavaPairRDD<LabeledImage, Long> indexed, EpochOrder order,
      int epoch, int partitions, List<Broadcast<?>> lineage) {
    Broadcast<long[]> ids = sc.broadcast(order.microBatchOf(epoch));
    Broadcast<int[]> pos = sc.broadcast(order.positions(epoch));
    int m = order.microBatchesPerStep();
    JavaRDD<QatShard> r = indexed.flatMapToPair(t -> {
      int i = Math.toIntExact(t._2());
      long id = ids.value()[i];
      return id < 0 ? List.<Tuple2<Long, Tuple2<Integer, LabeledImage>>>of().iterator()
          : List.of(new Tuple2<>(id, new Tuple2<>(pos.value()[i], t._1()))).iterator();
    }).partitionBy(new MicroBatchPartitioner(Math.min(partitions, m), m))
        .mapPartitions(it -> List.of(QatShard.of(it)).iterator(), true);
    r.persist(StorageLevel.MEMORY_AND_DISK());
    r.count();
    lineage.add(ids);
    lineage.add(pos);
    return r;
  }

  /** Micro-batch j of every step to partition j mod P. */
  static final class MicroBatchPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int partitions;
    private final int perStep;

    MicroBatchPartitioner(int partitions, int perStep) {
      this.partitions = partitions;
      this.perStep = perStep;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return (int) (((Long) key % perStep) % partitions);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof MicroBatchPartitioner p && p.partitions == partitions && p.perStep == perStep;
    }

    @Override
    public int hashCode() {
      return partitions * 31 + perStep;
    }
  }

  /** Workers of the models this executor JVM trains, by model and calibration. */
  private static final Map<String, QatWorker> WORKERS = new LinkedHashMap<>(4, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, QatWorker> e) {
      return size() > 2;
    }
  };

  /** Losses of the models this executor JVM trains (a distillation loss holds its teacher), by model and loss. */
  private static final Map<String, QatLoss> LOSSES = new LinkedHashMap<>(4, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, QatLoss> e) {
      return size() > 2;
    }
  };

  /** The loss tasks train with: null for a classifier's cross-entropy alone (the worker's own step), built once per JVM. */
  static synchronized QatLoss loss(ModelBlob blob, QatLossSpec spec) {
    if (!spec.distills()) return null;
    String key = blob.key() + " " + spec;
    QatLoss l = LOSSES.get(key);
    if (l == null) {
      Graph teacher = LoadedModels.inferenceModel(blob).graph();
      l = spec.loss(teacher, teacher.outputs().get(0));
      LOSSES.put(key, l);
    }
    return l;
  }

  /** The worker for a float model and its calibration, built once per JVM. */
  public static synchronized QatWorker worker(ModelBlob blob) {
    QatWorker w = WORKERS.get(blob.key());
    if (w == null) {
      io.qspark.kernels.blas.Blas.setThreads(1);
      OnnxImporter.Imported imp = OnnxImporter.parse(blob.onnx(), null, blob.name());
      Graph floatGraph = Model.prepare(imp.graph(), blob.name(), blob.sha256(), "onnx").graph();
      QuantInfo.Parsed info = QuantInfo.read(blob.quantInfo());
      QuantConfig cfg = info.config();
      Graph inference = LoadedModels.inferenceModel(blob).graph();
      w = new QatWorker(floatGraph, QuantPlan.of(inference, cfg), info.params());
      WORKERS.put(blob.key(), w);
    }
    return w;
  }
}

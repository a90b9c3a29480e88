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
 * weights, each partition computes the gradient parts of its micro-batches, {@link PartMerge} brings
 * them back as a {@link QatGradient} summed in micro-batch order, and the driver's
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
    int shardEpoch = -1;
    try {
      long total = perEpoch * epochs;
      while (trainer.step() < total) {
        long step = trainer.step();
        int epoch = (int) (step / perEpoch);
        if (epoch != shardEpoch) {
          sc.setJobGroup("qspark", "qat: epoch " + (epoch + 1) + ", dealing micro-batches", false);
          JavaRDD<QatShard> next = deal(sc, indexed, order, epoch, partitions);
          if (shards != null) shards.unpersist(false);
          shards = next;
          shardEpoch = epoch;
        }
        Broadcast<QatWeights> bw = sc.broadcast(trainer.weights());
        long s = step % perEpoch;
        sc.setJobGroup("qspark", "qat: epoch " + (epoch + 1) + ", step " + (s + 1) + "/" + perEpoch, false);
        QatGradient g = PartMerge.merge(shards.map(sh -> sh.gradient(worker(b.value()), loss(b.value(), loss), labels,
            bw.value(), plan, s, m)), new QatGradient(), QatGradient::merge);
        bw.destroy();
        if (g.parts() != m) throw new IllegalStateException("step " + step + " got " + g.parts() + " of " + m + " micro-batches");
        hooks.afterStep(trainer, trainer.apply(g));
        if (trainer.step() % perEpoch == 0) hooks.afterEpoch(trainer, epoch);
      }
    } catch (RuntimeException e) {
      throw EvaluationJob.translate(e);
    } finally {
      if (shards != null) shards.unpersist(false);
      indexed.unpersist(false);
      sc.clearJobGroup();
    }
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
    long part = 0;
    for (String n : w.trainable()) part += 4L * w.values().get(n).length;
    long need = part * microBatches;
    long limit = sc.getConf().getSizeAsBytes("spark.driver.maxResultSize", "1g");
    // a part's serialized form adds its arrays' headers and the loss figures: a few KB
    if (limit > 0 && need + 16_384L * microBatches > limit) {
      throw new UserError(String.format(java.util.Locale.ROOT,
          "qat brings each micro-batch's gradient (%s) to the driver: %d micro-batches a step need %s, over"
              + " spark.driver.maxResultSize (%s); raise it (spark-submit --conf spark.driver.maxResultSize=%dm, or"
              + " -Dspark.driver.maxResultSize=%dm in QSPARK_JAVA_OPTS, with driver memory to hold it) or use a larger"
              + " --micro-batch", StageMetrics.bytes(part), microBatches, StageMetrics.bytes(need), StageMetrics.bytes(limit),
          (need * 5 / 4) >> 20, (need * 5 / 4) >> 20));
    }
  }

  /** The epoch's micro-batches, micro-batch j of each step on partition j mod P. */
  private static JavaRDD<QatShard> deal(JavaSparkContext sc, JavaPairRDD<LabeledImage, Long> indexed, EpochOrder order,
      int epoch, int partitions) {
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
    ids.destroy();
    pos.destroy();
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

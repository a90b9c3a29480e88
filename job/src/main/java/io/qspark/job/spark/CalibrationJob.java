package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.data.DataSource;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantError;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.RangeGroups;
import io.qspark.kernels.exec.TensorObserver;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;

/**
 * The two distributed passes of calibration, in the style of MLlib's Summarizer: each task
 * fills a per-partition buffer over its images (histograms of every activation point; then
 * float-vs-quantized error), buffers are merged with treeAggregate, and the driver decides.
 * Histograms merge exactly, so the decision does not depend on partitions or executors.
 */
public final class CalibrationJob {
  private static final long PROGRESS_INTERVAL_MS = 10_000;

  private CalibrationJob() {}

  /** Pass 1: activation statistics of the float (inference) model. */
  public static ActivationStats statistics(JavaSparkContext sc, DataSource data, ModelBlob model,
      ScoringPlan plan, QuantConfig cfg, int partitions) {
    return statistics(sc, data, model, plan, cfg, partitions, null, null, "calibrate: statistics");
  }

  /**
   * Statistics of the points in {@code only} (all when null) with the model quantized as far as
   * {@code prefix} has decided (float when null): one wave of sequential calibration.
   */
  public static ActivationStats statistics(JavaSparkContext sc, DataSource data, ModelBlob model,
      ScoringPlan plan, QuantConfig cfg, int partitions, java.util.Set<String> only, QuantParams prefix, String name) {
    return pass(sc, name, data, partitions, done -> {
      Broadcast<ModelBlob> blob = sc.broadcast(model);
      return new JobPass<>(blob, done, images -> {
        LoadedModels.Loaded l = LoadedModels.get(blob.value());
        QuantPlan qp = QuantPlan.of(l.model().graph(), cfg);
        ActivationStats stats = new ActivationStats();
        TensorObserver observer = stats.observer(qp, only);
        Executor ex = l.executor();
        if (prefix != null) {
          QuantizedModel qm = new QuantizedModel(l.model().graph(), qp, prefix);
          TensorObserver record = observer;
          TensorObserver quantize = qm.fakeQuant();
          observer = (node, v, t) -> quantize.onValue(node, v, record.onValue(node, v, t));
          ex = qm.executor(1);
        }
        InputBatches batches = new InputBatches(images, plan);
        while (batches.hasNext()) {
          InputBatches.Batch b = batches.next();
          ex.run(b.feeds(), observer, false);
          stats.addImages(b.size());
          done.add(b.size());
        }
        return stats;
      });
    }, new ActivationStats(), ActivationStats::merge);
  }

  /** Statistics of every point over all images, and the choices of {@link RangeGroups}' runs. */
  public record GroupedStats(ActivationStats whole, RangeGroups groups) implements java.io.Serializable {
    GroupedStats merge(GroupedStats o) {
      return new GroupedStats(whole.merge(o.whole), groups.merge(o.groups));
    }
  }

  /**
   * Pass 1 with robust ranges ({@code --range-groups}): the images cut into {@code groups}
   * consecutive runs in data order, each task's batches cut at the runs' edges so a batch's
   * values belong to one run. A first job counts each partition's images (partitions hold
   * consecutive runs of the data in order, {@link io.qspark.job.data.DataSource#images}), so a
   * task knows where its images stand; a run wholly in a task is decided there, the others'
   * histograms go to the driver ({@link RangeGroups}).
   */
  public static GroupedStats groupedStatistics(JavaSparkContext sc, DataSource data, ModelBlob model,
      ScoringPlan plan, QuantConfig cfg, int partitions, int groups, String name) {
    List<Long> sizes = data.images(sc, partitions).mapPartitions(it -> {
      long n = 0;
      for (; it.hasNext(); it.next()) n++;
      return List.of(n).iterator();
    }).collect();
    long[] offsets = new long[sizes.size() + 1];
    for (int p = 0; p < sizes.size(); p++) offsets[p + 1] = offsets[p] + sizes.get(p);
    long total = offsets[sizes.size()];
    return pass(sc, name, data, partitions, done -> {
      Broadcast<ModelBlob> blob = sc.broadcast(model);
      return new JobPass<>(blob, done, images -> {
        LoadedModels.Loaded l = LoadedModels.get(blob.value());
        QuantPlan qp = QuantPlan.of(l.model().graph(), cfg);
        int p = org.apache.spark.TaskContext.getPartitionId();
        long start = offsets[p], end = offsets[p + 1];
        GroupedStats out = new GroupedStats(new ActivationStats(), new RangeGroups());
        long i = start;
        while (i < end && images.hasNext()) {
          int g = RangeGroups.groupOf(i, total, groups);
          long runEnd = Math.min(end, RangeGroups.firstOf(g + 1, total, groups));
          long n = runEnd - i;
          ActivationStats run = new ActivationStats();
          TensorObserver observer = run.observer(qp, null);
          InputBatches batches = new InputBatches(limit(images, n), plan);
          while (batches.hasNext()) {
            InputBatches.Batch b = batches.next();
            l.executor().run(b.feeds(), observer, false);
            run.addImages(b.size());
            done.add(b.size());
          }
          boolean whole = RangeGroups.firstOf(g, total, groups) >= start && RangeGroups.firstOf(g + 1, total, groups) <= end;
          if (whole) {
            out.groups().decided(run, qp, cfg);
          } else {
            out.groups().partial(g, ActivationStats.fromByteArray(run.toByteArray()));
          }
          out.whole().merge(run);
          i = runEnd;
        }
        return out;
      });
    }, new GroupedStats(new ActivationStats(), new RangeGroups()), GroupedStats::merge);
  }

  /** The next {@code n} of {@code it} (fewer if it ends first). */
  private static <T> Iterator<T> limit(Iterator<T> it, long n) {
    return new Iterator<>() {
      long left = n;

      @Override
      public boolean hasNext() {
        return left > 0 && it.hasNext();
      }

      @Override
      public T next() {
        if (!hasNext()) throw new java.util.NoSuchElementException();
        left--;
        return it.next();
      }
    };
  }

  /** Images the error pass runs at a time (whole chunks for a model that runs in chunks). */
  static int errorSlice(int chunk) {
    return chunk > 0 ? chunk * Math.max(1, ERROR_IMAGES / chunk) : ERROR_IMAGES;
  }

  /**
   * The error pass keeps every value of the float and the quantized model for the images it runs
   * at once: for tiny_yolo at 160x160, 32 images took over 3 GB in two tasks.
   */
  private static final int ERROR_IMAGES = 8;

  /** Pass 2: how far the quantized model is from the float one, on the same images. */
  public static QuantError error(JavaSparkContext sc, DataSource data, ModelBlob quantized,
      ScoringPlan plan, int partitions) {
    return error(sc, data, quantized, null, plan, partitions);
  }

  /**
   * The same with the outputs compared with another float model's ({@code reference}, null: the
   * quantized model's own float model): {@link QuantError#add(Executor, QuantizedModel, Executor,
   * java.util.Map, int[], Executor)}.
   */
  public static QuantError error(JavaSparkContext sc, DataSource data, ModelBlob quantized, ModelBlob reference,
      ScoringPlan plan, int partitions) {
    return pass(sc, "calibrate: quantization error", data, partitions, done -> {
      Broadcast<ModelBlob> blob = sc.broadcast(quantized);
      Broadcast<ModelBlob> ref = reference == null ? null : sc.broadcast(reference);
      return new JobPass<>(blob, done, images -> {
        LoadedModels.Loaded l = LoadedModels.get(blob.value());
        Executor refEx = ref == null ? null : LoadedModels.get(ref.value()).executor();
        Executor floatEx = l.executor();
        QuantError err = new QuantError();
        InputBatches batches = new InputBatches(images, plan);
        int slice = errorSlice(plan.model().chunk());
        while (batches.hasNext()) {
          InputBatches.Batch b = batches.next();
          // both models' every value is held at once: a few images at a time (exact sums, so
          // the figures do not depend on it)
          for (int from = 0; from < b.size(); from += slice) {
            InputBatches.Batch part = b.slice(from, Math.min(b.size(), from + slice));
            err.add(floatEx, l.quantized(), l.quantizedExecutor(), part.feeds(), part.labels(), refEx);
          }
          done.add(b.size());
        }
        return err;
      });
    }, new QuantError(), QuantError::merge);
  }

  interface PassFactory<T> {
    JobPass<T> make(LongAccumulator done);
  }

  interface Combine<T> extends org.apache.spark.api.java.function.Function2<T, T, T> {}

  /** One distributed pass: a buffer per partition, merged by treeAggregate (used by every data pass of calibration). */
  static <T> T pass(JavaSparkContext sc, String name, DataSource data, int partitions,
      PassFactory<T> factory, T zero, Combine<T> merge) {
    LongAccumulator done = sc.sc().longAccumulator("qspark.images");
    ProgressLog progress = new ProgressLog(name, done, data.count(), PROGRESS_INTERVAL_MS);
    // names the stage in the Spark UI and in event logs
    sc.setJobGroup("qspark", name + " (" + data.count() + " images)", false);
    sc.sc().addSparkListener(progress);
    JobPass<T> job = factory.make(done);
    try {
      JavaRDD<LabeledImage> images = data.images(sc, partitions);
      T result = images.mapPartitions(job).treeAggregate(zero, merge, merge);
      job.blob.destroy();
      return result;
    } catch (Exception e) {
      throw EvaluationJob.translate(e);
    } finally {
      sc.sc().removeSparkListener(progress);
      sc.clearJobGroup();
    }
  }

  /** What a paired pass does with each batch: adds to the task's buffer, given both models as tasks load them. */
  interface PairedWork<T> extends java.io.Serializable {
    void add(T buffer, LoadedModels.Loaded first, LoadedModels.Loaded second, InputBatches.Batch batch);
  }

  /**
   * A pass over two models of the same inputs and outputs (a reference and one compared with it):
   * both broadcast, each task loads both and adds every batch of its images to a fresh buffer.
   */
  static <T> T paired(JavaSparkContext sc, String name, DataSource data, int partitions, ModelBlob first, ModelBlob second,
      ScoringPlan plan, org.apache.spark.api.java.function.Function0<T> fresh, PairedWork<T> work, T zero, Combine<T> merge) {
    Broadcast<ModelBlob> other = sc.broadcast(second);
    try {
      return pass(sc, name, data, partitions, done -> {
        Broadcast<ModelBlob> blob = sc.broadcast(first);
        return new JobPass<>(blob, done, images -> {
          LoadedModels.Loaded a = LoadedModels.get(blob.value()), b = LoadedModels.get(other.value());
          T buffer = fresh.call();
          InputBatches batches = new InputBatches(images, plan);
          while (batches.hasNext()) {
            InputBatches.Batch batch = batches.next();
            work.add(buffer, a, b, batch);
            done.add(batch.size());
          }
          return buffer;
        });
      }, zero, merge);
    } finally {
      other.destroy();
    }
  }

  /** One task's work: a buffer filled from the partition's images. */
  interface PartitionWork<T> extends java.io.Serializable {
    T run(Iterator<LabeledImage> images) throws Exception;
  }

  static final class JobPass<T> implements FlatMapFunction<Iterator<LabeledImage>, T> {
    private static final long serialVersionUID = 1L;
    final Broadcast<ModelBlob> blob;
    private final PartitionWork<T> work;

    JobPass(Broadcast<ModelBlob> blob, LongAccumulator done, PartitionWork<T> work) {
      this.blob = blob;
      this.work = work;
    }

    @Override
    public Iterator<T> call(Iterator<LabeledImage> images) throws Exception {
      return List.of(work.run(images)).iterator();
    }
  }
}

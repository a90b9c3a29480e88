package io.qspark.job.spark;

import io.qspark.job.data.DataSource;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.eval.VariantScores;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.PointVariants;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;

/**
 * Scores many variants of a model (some points quantized, or at other widths) against its float
 * model in one Spark job. Tasks are (group of variants, data shard) pairs: the variants are dealt
 * round-robin into groups, and every group runs over every partition of the data, so a job has
 * groups x partitions tasks. A task imports the model once (per JVM), holds its shard's inputs
 * and the float outputs, then runs each of its variants over them. Buffers ({@link VariantScores})
 * merge exactly, so the figures do not depend on partitions, groups or executors.
 */
public final class SensitivityJob {
  private static final long PROGRESS_INTERVAL_MS = 10_000;

  private SensitivityJob() {}

  /**
   * Groups of variants for a job over {@code partitions} partitions on {@code slots} task slots:
   * enough that every slot has two tasks (the float reference is computed once per task, so no
   * more), and never more than the variants.
   */
  public static int groups(int variants, int partitions, int slots) {
    int want = (2 * Math.max(1, slots) + partitions - 1) / partitions;
    return Math.max(1, Math.min(variants, want));
  }

  /**
   * @param model the float model
   * @param name the stage's name in logs and the Spark UI
   */
  public static VariantScores run(JavaSparkContext sc, DataSource data, ModelBlob model, ScoringPlan plan,
      List<PointVariants.Variant> variants, int partitions, int groups, String name) {
    long total = data.count() * variants.size();
    LongAccumulator done = sc.sc().longAccumulator("qspark.images");
    ProgressLog progress = new ProgressLog(name + " (" + variants.size() + " variants, image-variant pairs)", done, total,
        PROGRESS_INTERVAL_MS);
    sc.setJobGroup("qspark", name + " (" + variants.size() + " variants x " + data.count() + " images)", false);
    sc.sc().addSparkListener(progress);
    Broadcast<ModelBlob> blob = sc.broadcast(model);
    Broadcast<List<PointVariants.Variant>> vs = sc.broadcast(new ArrayList<>(variants));
    try {
      JavaRDD<LabeledImage> images = data.images(sc, partitions);
      List<JavaRDD<VariantScores>> parts = new ArrayList<>();
      for (int g = 0; g < groups; g++) parts.add(images.mapPartitions(new GroupTask(blob, vs, plan, g, groups, done)));
      @SuppressWarnings("unchecked")
      JavaRDD<VariantScores>[] all = parts.toArray(new JavaRDD[0]);
      VariantScores scores = sc.union(all).treeAggregate(new VariantScores(variants.size()), VariantScores::merge,
          VariantScores::merge);
      blob.destroy();
      vs.destroy();
      return scores;
    } catch (Exception e) {
      throw EvaluationJob.translate(e);
    } finally {
      sc.sc().removeSparkListener(progress);
      sc.clearJobGroup();
    }
  }

  /** One task: the variants {@code v} with v mod groups == group, over one partition. */
  private static final class GroupTask implements FlatMapFunction<Iterator<LabeledImage>, VariantScores> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<ModelBlob> model;
    private final Broadcast<List<PointVariants.Variant>> variants;
    private final ScoringPlan plan;
    private final int group;
    private final int groups;
    private final LongAccumulator done;

    GroupTask(Broadcast<ModelBlob> model, Broadcast<List<PointVariants.Variant>> variants, ScoringPlan plan, int group,
        int groups, LongAccumulator done) {
      this.model = model;
      this.variants = variants;
      this.plan = plan;
      this.group = group;
      this.groups = groups;
      this.done = done;
    }

    @Override
    public Iterator<VariantScores> call(Iterator<LabeledImage> images) {
      LoadedModels.Loaded l = LoadedModels.get(model.value());
      Graph g = l.model().graph();
      String in = g.inputs().get(0).name();
      List<PointVariants.Variant> vs = variants.value();
      VariantScores scores = new VariantScores(vs.size());
      // the shard's inputs and float outputs, held while each variant runs over them
      List<InputBatches.Batch> batches = new ArrayList<>();
      List<List<float[]>> reference = new ArrayList<>();
      InputBatches it = new InputBatches(images, plan);
      while (it.hasNext()) {
        InputBatches.Batch b = it.next();
        List<float[]> y = outputs(g, l.executor().run(Map.of(in, b.input()), TensorObserver.NONE, false));
        batches.add(b);
        reference.add(y);
        // each image's float figures once: by the first group's task
        if (group == 0) scores.addFloat(y, b.size(), b.labels());
      }
      QuantPlan plan0 = null;
      io.qspark.kernels.quant.QuantConfig cfg0 = null;
      for (int v = group; v < vs.size(); v += groups) {
        PointVariants.Variant variant = vs.get(v);
        if (!variant.config().equals(cfg0)) {
          cfg0 = variant.config();
          plan0 = QuantPlan.of(g, cfg0);
        }
        QuantizedModel qm = new QuantizedModel(g, plan0, variant.params());
        Executor ex = qm.executor(1);
        for (int i = 0; i < batches.size(); i++) {
          InputBatches.Batch b = batches.get(i);
          List<float[]> y = outputs(g, ex.run(Map.of(in, b.input()), qm.fakeQuant(), false));
          scores.addVariant(v, reference.get(i), y, b.size(), b.labels());
          done.add(b.size());
        }
      }
      return List.of(scores).iterator();
    }

    private static List<float[]> outputs(Graph g, Map<String, Tensor> values) {
      List<float[]> r = new ArrayList<>();
      for (String o : g.outputs()) r.add(values.get(o).data());
      return r;
    }
  }
}

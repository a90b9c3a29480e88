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
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.SharedValues;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.PointVariants;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Set;
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
  /**
   * Images run at a time where variants reuse a base's values: the base's every value stays live
   * while they run, and kept small it stays out of the garbage collector's way.
   */
  static final int REUSE_IMAGES = 16;

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
    return run(sc, data, model, model, plan, variants, partitions, groups, name);
  }

  /**
   * The same with the float outputs the variants are scored against from another model of the
   * same inputs and outputs ({@code reference}): a fine-tuned model's variants against the
   * model the user gave.
   */
  public static VariantScores run(JavaSparkContext sc, DataSource data, ModelBlob model, ModelBlob reference,
      ScoringPlan plan, List<PointVariants.Variant> variants, int partitions, int groups, String name) {
    return run(sc, data, model, reference, null, plan, variants, partitions, groups, name);
  }

  /**
   * The same with the decisions the variants are cut from given ({@code base}, null: the union
   * of each task's variants, the first one's where they differ): every variant reuses its
   * values upstream of where it differs from them. Variants that each move one point of a
   * calibration (refinement) all differ from the calibration itself in that point alone.
   */
  public static VariantScores run(JavaSparkContext sc, DataSource data, ModelBlob model, ModelBlob reference,
      QuantParams base, ScoringPlan plan, List<PointVariants.Variant> variants, int partitions, int groups, String name) {
    long total = data.count() * variants.size();
    LongAccumulator done = sc.sc().longAccumulator("qspark.images");
    ProgressLog progress = new ProgressLog(name + " (" + variants.size() + " variants, image-variant pairs)", done, total,
        PROGRESS_INTERVAL_MS);
    sc.setJobGroup("qspark", name + " (" + variants.size() + " variants x " + data.count() + " images)", false);
    sc.sc().addSparkListener(progress);
    Broadcast<ModelBlob> blob = sc.broadcast(model);
    Broadcast<ModelBlob> ref = reference == model ? blob : sc.broadcast(reference);
    Broadcast<List<PointVariants.Variant>> vs = sc.broadcast(new ArrayList<>(variants));
    try {
      JavaRDD<LabeledImage> images = data.images(sc, partitions);
      List<JavaRDD<VariantScores>> parts = new ArrayList<>();
      for (int g = 0; g < groups; g++) parts.add(images.mapPartitions(new GroupTask(blob, ref, vs, base, plan, g, groups, done)));
      @SuppressWarnings("unchecked")
      JavaRDD<VariantScores>[] all = parts.toArray(new JavaRDD[0]);
      VariantScores scores = sc.union(all).treeAggregate(new VariantScores(variants.size()), VariantScores::merge,
          VariantScores::merge);
      blob.destroy();
      if (ref != blob) ref.destroy();
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
    private final Broadcast<ModelBlob> reference;
    private final Broadcast<List<PointVariants.Variant>> variants;
    private final QuantParams base;
    private final ScoringPlan plan;
    private final int group;
    private final int groups;
    private final LongAccumulator done;

    GroupTask(Broadcast<ModelBlob> model, Broadcast<ModelBlob> reference, Broadcast<List<PointVariants.Variant>> variants,
        QuantParams base, ScoringPlan plan, int group, int groups, LongAccumulator done) {
      this.base = base;
      this.model = model;
      this.reference = reference;
      this.variants = variants;
      this.plan = plan;
      this.group = group;
      this.groups = groups;
      this.done = done;
    }

    @Override
    public Iterator<VariantScores> call(Iterator<LabeledImage> images) {
      LoadedModels.Loaded l = LoadedModels.get(model.value());
      LoadedModels.Loaded r = reference == model ? l : LoadedModels.get(reference.value());
      Graph g = l.model().graph();
      List<PointVariants.Variant> vs = variants.value();
      VariantScores scores = new VariantScores(vs.size());
      // the shard's inputs and float outputs, held while each variant runs over them
      List<InputBatches.Batch> batches = new ArrayList<>();
      List<List<float[]>> floatOutputs = new ArrayList<>();
      InputBatches it = new InputBatches(images, plan);
      while (it.hasNext()) {
        InputBatches.Batch b = it.next();
        List<float[]> y = outputs(r.model().graph(), r.executor().run(b.feeds(), TensorObserver.NONE, false));
        batches.add(b);
        floatOutputs.add(y);
        // each image's float figures once: by the first group's task
        if (group == 0) scores.addFloat(y, b.size(), labels(b));
      }
      // each variant's model once; variants of the first variant's config reuse, batch by batch,
      // the values they compute as a base run does (nothing quantized, or the union of their
      // decisions: for sensitivity's variants, the all-quantized model), so a variant that differs
      // from a base in one point recomputes only what lies downstream of it (SharedValues)
      QuantizedModel.FakeWeights weights = new QuantizedModel.FakeWeights();
      Map<io.qspark.kernels.quant.QuantConfig, QuantPlan> plans = new HashMap<>();
      List<Integer> mine = new ArrayList<>();
      List<QuantizedModel> models = new ArrayList<>();
      List<Executor> executors = new ArrayList<>();
      for (int v = group; v < vs.size(); v += groups) {
        PointVariants.Variant variant = vs.get(v);
        QuantPlan p = plans.computeIfAbsent(variant.config(), c -> QuantPlan.of(g, c));
        QuantizedModel qm = new QuantizedModel(g, p, variant.params(), weights);
        mine.add(v);
        models.add(qm);
        executors.add(qm.executor(1));
      }
      Reuse reuse = mine.isEmpty() || g.batchChunk() > 0 ? null : Reuse.of(g, mine, vs, models, weights, base);
      // with reuse, a base's every value is held while the variants run: a few images at a time
      int slice = reuse == null ? Integer.MAX_VALUE : REUSE_IMAGES;
      for (int i = 0; i < batches.size(); i++) {
        InputBatches.Batch whole = batches.get(i);
        for (int from = 0; from < whole.size(); from += slice) {
          int to = Math.min(whole.size(), from + slice);
          InputBatches.Batch b = whole.slice(from, to);
          List<float[]> ref = slice(floatOutputs.get(i), whole.size(), from, to);
          List<Map<String, Tensor>> baseValues = reuse == null ? List.of() : reuse.run(b.feeds());
          for (int k = 0; k < mine.size(); k++) {
            QuantizedModel qm = models.get(k);
            int base = reuse == null ? -1 : reuse.base[k];
            Map<String, Tensor> out = base < 0 ? executors.get(k).run(b.feeds(), qm.fakeQuant(), false)
                : executors.get(k).run(b.feeds(), qm.fakeQuant(), SharedValues.reusable(baseValues.get(base), reuse.changed.get(k)));
            scores.addVariant(mine.get(k), ref, outputs(g, out), b.size(), labels(b));
            done.add(b.size());
          }
        }
      }
      return List.of(scores).iterator();
    }

    /**
     * The base models of one task's variants and, per variant, the base it reuses (-1: none, a
     * full run) and the values that differ from it. A base is run only if a variant uses it.
     */
    private static final class Reuse {
      final List<QuantizedModel> bases;
      final List<Executor> executors = new ArrayList<>();
      final int[] base;
      final List<Set<String>> changed = new ArrayList<>();

      private Reuse(List<QuantizedModel> bases, int variants) {
        this.bases = bases;
        this.base = new int[variants];
        for (QuantizedModel m : bases) executors.add(m.executor(1));
      }

      static Reuse of(Graph g, List<Integer> mine, List<PointVariants.Variant> vs, List<QuantizedModel> models,
          QuantizedModel.FakeWeights weights, QuantParams given) {
        io.qspark.kernels.quant.QuantConfig cfg = vs.get(mine.get(0)).config();
        QuantPlan plan = models.get(0).plan();
        List<QuantParams> same = new ArrayList<>();
        for (int v : mine) if (vs.get(v).config().equals(cfg)) same.add(vs.get(v).params());
        QuantParams union = given != null ? given : QuantParams.union(same);
        List<QuantizedModel> bases = List.of(new QuantizedModel(g, plan, union.only(Set.of(), Set.of()), weights),
            new QuantizedModel(g, plan, union, weights));
        Reuse r = new Reuse(bases, mine.size());
        for (int k = 0; k < mine.size(); k++) {
          r.base[k] = -1;
          r.changed.add(Set.of());
          if (!vs.get(mine.get(k)).config().equals(cfg)) continue;
          int best = Integer.MAX_VALUE;
          for (int b = 0; b < bases.size(); b++) {
            Set<String> c = SharedValues.changed(bases.get(b).graph(), plan, bases.get(b).params(), models.get(k).params());
            if (c.size() < best) {
              best = c.size();
              r.base[k] = b;
              r.changed.set(k, c);
            }
          }
        }
        return r;
      }

      /** Every value of each base that some variant uses (keepAll), null for the others. */
      List<Map<String, Tensor>> run(Map<String, Tensor> feeds) {
        List<Map<String, Tensor>> r = new ArrayList<>();
        for (int b = 0; b < bases.size(); b++) {
          boolean used = false;
          for (int x : base) used |= x == b;
          r.add(used ? executors.get(b).run(feeds, bases.get(b).fakeQuant(), true) : null);
        }
        return r;
      }
    }

    /** Images [from, to) of each output of a batch of n. */
    private static List<float[]> slice(List<float[]> outputs, int n, int from, int to) {
      if (from == 0 && to == n) return outputs;
      List<float[]> r = new ArrayList<>();
      for (float[] o : outputs) {
        int per = o.length / n;
        r.add(java.util.Arrays.copyOfRange(o, from * per, to * per));
      }
      return r;
    }

    /** The batch's labels for a classifier; none (-1) for a model without a class axis, whatever the data holds. */
    private int[] labels(InputBatches.Batch b) {
      if (plan.model().classifier()) return b.labels();
      int[] none = new int[b.size()];
      java.util.Arrays.fill(none, -1);
      return none;
    }

    private static List<float[]> outputs(Graph g, Map<String, Tensor> values) {
      List<float[]> r = new ArrayList<>();
      for (String o : g.outputs()) r.add(values.get(o).data());
      return r;
    }
  }
}

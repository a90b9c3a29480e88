package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.report.ActivationHistograms;
import io.qspark.job.report.CalibrationReport;
import io.qspark.job.report.PartitionSection;
import io.qspark.job.report.Provenance;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.job.spark.SensitivityJob;
import io.qspark.job.eval.VariantScores;
import io.qspark.kernels.quant.PointVariants;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.SparkSettings;
import io.qspark.job.spark.StageMetrics;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.ParamQuant;
import io.qspark.kernels.quant.QdqExport;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantError;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.Waves;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What calibrate, finetune and QAT share on the driver: Spark, the calibration images (the first
 * calibSize of the data, with their preprocessing) and how tasks score them; calibration of an
 * inference graph (one statistics pass, or wave by wave when sequential); and the finished
 * calibration as a folder's contents (quant_info.json, the QDQ model, the float model the
 * fix_points belong to, report.json) after the error pass.
 */
final class CalibrationRun implements AutoCloseable {
  /** Statistics and the fix_points decided from them. */
  record Calibrated(QuantPlan plan, ActivationStats stats, QuantParams params) {}

  final CalibrateSettings settings;
  /** The settings' config; with an accuracy budget, the points it raised as rules after the settings' own. */
  QuantConfig cfg;
  final ImageInputs inputs;
  final LazySpark spark;
  final int partitions;
  /**
   * Refines {@code c} (a calibration of the model in {@code blob}) as the settings ask, against
   * the float outputs of {@code reference}; records what it did for the report. Without
   * refinement, {@code c} itself.
   */
  Calibrated refined(Graph g, ModelBlob blob, ModelBlob reference, Calibrated c) {
    if (!settings.refine().enabled()) return c;
    FixPointRefinement.Result r = FixPointRefinement.apply(this, g, blob, reference, c, settings.refine());
    refinement = r.outcome();
    return r.calibrated();
  }

  /** What the range groups changed (the last calibration's), which finish reports; null: one group. */
  private Map<String, Object> rangeGroups;

  /** The points whose range the runs widened beyond the choice over all images at once, for report.json. */
  private Map<String, Object> rangeGroupsJson(Graph g, QuantPlan qplan, ActivationStats whole, Map<String, FixPoint> chosen) {
    List<Map<String, Object>> widened = new java.util.ArrayList<>();
    for (QuantPlan.ActivationPoint a : qplan.activations()) {
      FixPoint plain = QuantParams.activation(g, a, whole.histograms().get(a.name()), cfg), c = chosen.get(a.name());
      if (c == null || !(c.step() > plain.step())) continue;
      Map<String, Object> w = new LinkedHashMap<>();
      w.put("point", a.name());
      w.put(c.powerOfTwo() ? "fix_point_all_images" : "step_all_images", c.powerOfTwo() ? plain.fixPoint() : plain.step());
      w.put(c.powerOfTwo() ? "fix_point" : "step", c.powerOfTwo() ? c.fixPoint() : c.step());
      widened.add(w);
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("groups", settings.rangeGroups());
    m.put("rule", "each run of images chooses by the method on its own histogram; a point takes the widest run's choice");
    m.put("points", qplan.activations().size());
    m.put("widened", widened.size());
    m.put("widened_points", widened);
    return m;
  }

  /** Bytes each stage moved (results to the driver, shuffle): the reduction's cost, for report.json. */
  private final StageMetrics stageMetrics;
  /** What the accuracy budget changed ({@link BudgetSearch}), which finish reports; null: no budget. */
  BudgetSearch.Outcome budget;
  double budgetSeconds;
  /** What the refinement of the fix_points did, which finish reports; null: none ran. */
  FixPointRefinement.Outcome refinement;
  private final String app;
  /** The SHA-256 of the model the user gave, for the provenance. */
  private final String givenSha256;

  /** The model's inputs and outputs, for opening a subset of the images ({@link #firstImages}). */
  private final ModelSignature signature;
  private final ModelIo io;
  /** The first images opened last, or null. */
  private ImageInputs first;

  private CalibrationRun(String app, CalibrateSettings settings, LazySpark spark, ImageInputs inputs, int partitions,
      String givenSha256, ModelSignature signature, ModelIo io) {
    this.signature = signature;
    this.io = io;
    this.app = app;
    this.givenSha256 = givenSha256;
    this.settings = settings;
    this.cfg = settings.quant();
    this.spark = spark;
    this.inputs = inputs;
    this.partitions = partitions;
    this.stageMetrics = StageMetrics.listen(spark.runtime().context().sc());
  }

  /**
   * Opens the calibration images (the first calibSize of the data) and Spark for a model of
   * this signature; warns when the data holds fewer images than asked for, or its inputs look
   * unnormalized with no preprocessing given.
   */
  static CalibrationRun open(String app, CalibrateSettings s, Models.Read model, Notices notices) {
    return open(app, s, model, notices, false);
  }

  /**
   * @param subset the calibration images are a subset of what the run reads (QAT trains on all
   *     of them): --partitions is capped at their count rather than refused
   */
  static CalibrationRun open(String app, CalibrateSettings s, Models.Read model, Notices notices, boolean subset) {
    Model inference = model.model().forInference();
    QuantPlan.of(inference.graph(), s.quant()); // layer rules that match no node fail before Spark starts
    ModelSignature sig = ModelSignature.of(inference);
    ModelIo io = ModelIo.of(sig, inference.graph().batchChunk(), inference.source());
    LazySpark spark = new LazySpark(app, s.spark());
    try {
      DataSettings first = s.data().first(s.calibSize());
      ImageInputs in = ImageInputs.open(first, s.preprocess(), null, null, spark, sig, io, s.batch());
      if (in.images.count() == 0) throw new UserError("no calibration images in " + s.data().location());
      if (in.images.count() < s.calibSize()) {
        notices.warning(String.format(java.util.Locale.ROOT, "--calib-size %d but %s holds %d images; calibrating on all of them",
            s.calibSize(), s.data().location(), in.images.count()));
      }
      SparkSettings sp = subset ? s.spark().capped(in.images.count()) : s.spark();
      sp.requireFits(in.images.count());
      int partitions = in.partitions(sp, spark);
      in.warnIfUnnormalized(spark, notices);
      return new CalibrationRun(app, s, spark, in, partitions, model.blob().sha256(), sig, io);
    } catch (RuntimeException e) {
      spark.close();
      throw e;
    }
  }

  org.apache.spark.api.java.JavaSparkContext sc() {
    return spark.runtime().context();
  }

  /** Fix_points for an inference graph from the calibration images (the graph as executors load {@code blob}). */
  Calibrated calibrate(Model m, ModelBlob blob, String stage) {
    QuantPlan qplan = QuantPlan.of(m.graph(), cfg);
    if (settings.rangeGroups() > 1) {
      CalibrationJob.GroupedStats gs = CalibrationJob.groupedStatistics(sc(), inputs.images, blob, inputs.plan, cfg,
          partitions, settings.rangeGroups(), stage + ": statistics (" + settings.rangeGroups() + " range groups)");
      Map<String, FixPoint> chosen = gs.groups().choices(qplan, cfg, gs.whole().histograms());
      rangeGroups = rangeGroupsJson(m.graph(), qplan, gs.whole(), chosen);
      return new Calibrated(qplan, gs.whole(), QuantParams.decide(m.graph(), qplan, gs.whole().histograms(), chosen, cfg));
    }
    if (!settings.sequential()) {
      ActivationStats stats = CalibrationJob.statistics(sc(), inputs.images, blob, inputs.plan, cfg, partitions,
          null, null, stage + ": statistics");
      return new Calibrated(qplan, stats, QuantParams.decide(m.graph(), qplan, stats.histograms(), cfg));
    }
    ActivationStats stats = new ActivationStats();
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    Map<String, ParamQuant> ps = QuantParams.paramQuantizers(m.graph(), qplan, cfg);
    List<Set<String>> waves = Waves.of(m.graph(), qplan);
    for (int w = 0; w < waves.size(); w++) {
      ActivationStats s = CalibrationJob.statistics(sc(), inputs.images, blob, inputs.plan, cfg, partitions,
          waves.get(w), QuantParams.partial(m.graph(), qplan, acts, ps, cfg), stage + ": wave " + (w + 1) + "/" + waves.size());
      for (QuantPlan.ActivationPoint a : qplan.activations()) {
        if (waves.get(w).contains(a.name())) acts.put(a.name(), QuantParams.activation(m.graph(), a, s.histograms().get(a.name()), cfg));
      }
      if (w == 0) stats.addImages(s.images());
      s.histograms().forEach((k, h) -> stats.histograms().put(k, h));
    }
    Map<String, FixPoint> ordered = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : qplan.activations()) ordered.put(a.name(), acts.get(a.name()));
    return new Calibrated(qplan, stats, QuantParams.legalized(m.graph(), qplan, ordered, ps, cfg));
  }

  /**
   * Scores variants of the float model in {@code blob} against it on the calibration images, in
   * one Spark job of (group of variants, partition) tasks.
   */
  VariantScores score(ModelBlob blob, List<PointVariants.Variant> variants, String stage) {
    int groups = SensitivityJob.groups(variants.size(), partitions, sc().defaultParallelism());
    return SensitivityJob.run(sc(), inputs.images, blob, inputs.plan, variants, partitions, groups, stage);
  }

  /**
   * The same with the float outputs from {@code reference}, on other images ({@link #firstImages})
   * in {@code partitions} partitions, the variants reusing {@code base}'s values where they agree with it.
   */
  VariantScores score(ModelBlob blob, ModelBlob reference, QuantParams base, ImageInputs images, int partitions,
      List<PointVariants.Variant> variants, String stage) {
    int groups = SensitivityJob.groups(variants.size(), partitions, sc().defaultParallelism());
    return SensitivityJob.run(sc(), images.images, blob, reference, base, images.plan, variants, partitions, groups, stage);
  }

  /** The first {@code n} calibration images, as the calibration's data and preprocessing give them; all of them if n is as many. */
  ImageInputs firstImages(int n) {
    if (n >= inputs.images.count()) return inputs;
    if (first == null || first.images.count() != n) {
      first = ImageInputs.open(settings.data().first(n), settings.preprocess(), null, null, spark, signature, io,
          settings.batch());
    }
    return first;
  }

  /** Partitions for a subset of the calibration images, by the rule every stage uses. */
  int partitionsOf(ImageInputs images) {
    if (images == inputs) return partitions;
    return images.partitions(settings.spark().capped(images.images.count()), spark);
  }

  /**
   * One evaluation of the float model over the calibration images as one task (one slot), by
   * the same job: the unit sensitivity analysis reports its cost in (variants on S slots
   * ideally take variants / S of them).
   */
  double oneEvaluationSeconds(ModelBlob blob, String stage) {
    long t0 = System.nanoTime();
    SensitivityJob.run(sc(), inputs.images, blob, inputs.plan, List.of(), 1, 1, stage);
    return (System.nanoTime() - t0) / 1e9;
  }

  /** quant_info.json of a calibration of the model in {@code blob}. */
  String quantInfo(Model m, ModelBlob blob, String name, Calibrated c) {
    return QuantInfo.write(name, blob.sha256(), cfg, c.plan(), c.params(), c.stats(), m.graph());
  }

  /** A finished calibration: the folder's contents, the report's console summary and its warnings. */
  record Finished(CalibrationFolder.Contents contents, CalibrationReport report) {}

  /**
   * The error pass, then the folder's contents.
   *
   * @param seconds load and check, statistics (the report's timings before the decisions are written)
   * @param stages extra stages for report.json (finetune's), or null
   * @param extra more report.json entries
   * @param settingsJson the run's settings, for the provenance
   */
  Finished finish(Model m, String name, ModelBlob blob, Calibrated c, double[] seconds, Map<String, Double> stages,
      Map<String, Object> extra, Map<String, Object> settingsJson) {
    long t2 = System.nanoTime();
    String info = quantInfo(m, blob, name, c);
    long t3 = System.nanoTime();
    QuantError error = CalibrationJob.error(sc(), inputs.images, blob.quantized(info), inputs.plan, partitions);
    double errorSeconds = (System.nanoTime() - t3) / 1e9;
    CalibrationReport report = new CalibrationReport(m, name, blob.sha256(), cfg, inputs.images.describe(),
        spark.runtime().master(), partitions, c.stats(), error, new double[] {seconds[0], seconds[1], (t3 - t2) / 1e9, errorSeconds});
    if (stages != null) {
      stages.put("error_pass", errorSeconds);
      report.stages(stages);
    }
    extra.forEach(report::put);
    if (budget != null) BudgetSearch.report(budget, budgetSeconds, report);
    if (refinement != null) refinement.report(report);
    if (rangeGroups != null) {
      report.put("range_groups", rangeGroups);
      report.summaryRow("range groups", rangeGroups.get("groups") + " runs of images: " + rangeGroups.get("widened") + " of "
          + rangeGroups.get("points") + " activation ranges widened beyond the choice over all images");
    }
    report.put("spark_stages", stageMetrics.json());
    report.put("command", command());
    report.put("activation_histograms", ActivationHistograms.of(c.plan(), c.stats().histograms(), c.params()));
    report.put("partition", PartitionSection.of(m.graph(), cfg));
    report.put("preprocessing", inputs.record.json());
    report.put("provenance", provenance(name, settingsJson).json());
    QuantizedModel qm = new QuantizedModel(m.graph(), c.plan(), c.params());
    CalibrationFolder.Contents contents = new CalibrationFolder.Contents(info, blob.onnx(),
        QdqExport.export(qm, m.graph(), 13).toByteArray(), inputs.record, command(), report.json(), app + ": " + name);
    return new Finished(contents, report);
  }

  /** How the folder was made: this build, the model given, the calibration images, the settings. */
  Provenance provenance(String name, Map<String, Object> settingsJson) {
    return new Provenance(Provenance.model(name, settings.model().location(), givenSha256),
        Provenance.data(settings.data().location(), inputs.images.describe(), inputs.images.count(),
            inputs.images.digest().json()), settingsJson);
  }

  String command() {
    return app.replaceFirst("^qspark ", "");
  }

  @Override
  public void close() {
    try {
      stageMetrics.close();
    } finally {
      spark.close();
    }
  }
}

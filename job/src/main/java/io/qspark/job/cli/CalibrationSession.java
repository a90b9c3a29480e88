package io.qspark.job.cli;

import io.qspark.job.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.output.AtomicFolder;
import io.qspark.job.output.RunInputs;
import io.qspark.job.report.ActivationHistograms;
import io.qspark.job.report.CalibrationReport;
import io.qspark.job.report.HtmlReport;
import io.qspark.job.report.PartitionSection;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.ModelBlob;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.SparkSettings;
import io.qspark.job.spark.StageMetrics;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
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
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What calibrate and finetune share on the driver: the output folder (atomic), Spark, the
 * calibration images and how to score them; calibration of an inference graph (one statistics
 * pass, or wave by wave with --sequential); and the output folder's contents: quant_info.json,
 * quantize_eval_model.onnx, float_model.onnx (the graph the fix_points belong to) and report.json.
 */
final class CalibrationSession implements AutoCloseable {
  /** Statistics and the fix_points decided from them. */
  record Calibrated(QuantPlan plan, ActivationStats stats, QuantParams params) {}

  final QuantConfig cfg;
  final DataSource images;
  final ScoringPlan plan;
  final SparkRuntime runtime;
  final int partitions;
  private final QuantOptions quant;
  private final AtomicFolder folder;
  private final LazySpark lazy;
  private final PrintWriter err;
  /** Bytes each stage moved (results to the driver, shuffle): the reduction's cost, for report.json. */
  private final StageMetrics stageMetrics;
  private final String app;

  private CalibrationSession(String app, QuantOptions quant, AtomicFolder folder, LazySpark lazy, DataSource images,
      ScoringPlan plan, SparkRuntime runtime, int partitions, PrintWriter err) {
    this.stageMetrics = StageMetrics.listen(runtime.context().sc());
    this.app = app;
    this.quant = quant;
    this.cfg = quant.config();
    this.folder = folder;
    this.lazy = lazy;
    this.images = images;
    this.plan = plan;
    this.runtime = runtime;
    this.partitions = partitions;
    this.err = err;
  }

  /** The option checks both commands make before loading anything, so bad flags fail fast. */
  static void checkOptions(QuantOptions quant, PreprocessOptions preprocess, SparkOptions spark, DataOptions data) {
    quant.check();
    quant.config();
    preprocess.preprocessing();
    spark.settings();
    data.request(preprocess.dims(), preprocess.geometry());
  }

  /**
   * Opens the output folder (apart from the model's files and the data), the calibration images
   * (the first --calib-size) and Spark.
   */
  static CalibrationSession open(String app, Classifier classifier, RunInputs model, DataOptions data,
      PreprocessOptions preprocess, QuantOptions quant, SparkOptions spark, PrintWriter err) {
    SparkSettings settings = spark.settings();
    DataRequest asked = data.request(preprocess.dims(), preprocess.geometry());
    int limit = data.limit == null ? quant.calibSize : Math.min(quant.calibSize, data.limit);
    DataRequest request = new DataRequest(asked.data(), asked.labels(), limit, asked.dims(), asked.geometry(),
        asked.imageColumn(), asked.labelColumn(), asked.strict());
    AtomicFolder folder = AtomicFolder.create(quant.out, quant.overwrite, model.and(data.inputs()));
    LazySpark lazy = new LazySpark(app, settings);
    try {
      DataSource images = DataSources.open(request, lazy, classifier);
      if (images.count() == 0) throw new UserError("no calibration images in " + request.data());
      if (images.count() < quant.calibSize) {
        err.printf("qspark: warning: --calib-size %d but %s holds %d images; calibrating on all of them%n",
            quant.calibSize, request.data(), images.count());
        err.flush();
      }
      ScoringPlan plan = preprocess.scoringPlan(images, request.data(), classifier, quant.batch);
      settings.requireFits(images.count()); // before Spark starts
      SparkRuntime runtime = lazy.runtime();
      int partitions = settings.partitionsFor(images.count(), plan.classifier().imageSize(), runtime.context().defaultParallelism());
      return new CalibrationSession(app, quant, folder, lazy, images, plan, runtime, partitions, err);
    } catch (RuntimeException e) {
      lazy.close();
      folder.close();
      throw e;
    }
  }

  /** Fix_points for an inference graph from the calibration images (the graph as executors load {@code blob}). */
  Calibrated calibrate(Model m, ModelBlob blob, String stage) {
    QuantPlan qplan = QuantPlan.of(m.graph(), cfg);
    if (!quant.sequential) {
      ActivationStats stats = CalibrationJob.statistics(runtime.context(), images, blob, plan, cfg, partitions,
          null, null, stage + ": statistics");
      return new Calibrated(qplan, stats, QuantParams.decide(m.graph(), qplan, stats.histograms(), cfg));
    }
    ActivationStats stats = new ActivationStats();
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    Map<String, ParamQuant> ps = QuantParams.paramQuantizers(m.graph(), qplan, cfg);
    List<Set<String>> waves = Waves.of(m.graph(), qplan);
    for (int w = 0; w < waves.size(); w++) {
      ActivationStats s = CalibrationJob.statistics(runtime.context(), images, blob, plan, cfg, partitions,
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

  /** quant_info.json of a calibration of the model in {@code blob}. */
  String quantInfo(Model m, ModelBlob blob, String name, Calibrated c) {
    return QuantInfo.write(name, blob.sha256(), cfg, c.plan(), c.params(), c.stats(), m.graph());
  }

  /**
   * The error pass, then every output file, committed atomically; prints the summary.
   *
   * @param seconds load and check, statistics (the report's timings before the decisions are written)
   * @param stages extra stages for report.json (finetune's), or null
   * @param extra more report.json entries
   */
  void write(Model m, String name, ModelBlob blob, Calibrated c, double[] seconds, Map<String, Double> stages,
      PrintWriter out, Map<String, Object> extra) {
    long t2 = System.nanoTime();
    String info = quantInfo(m, blob, name, c);
    long t3 = System.nanoTime();
    QuantError error = CalibrationJob.error(runtime.context(), images, blob.quantized(info), plan, partitions);
    double errorSeconds = (System.nanoTime() - t3) / 1e9;
    CalibrationReport report = new CalibrationReport(m, name, blob.sha256(), cfg, images.describe(),
        runtime.master(), partitions, c.stats(), error, new double[] {seconds[0], seconds[1], (t3 - t2) / 1e9, errorSeconds});
    if (stages != null) {
      stages.put("error_pass", errorSeconds);
      report.stages(stages);
    }
    extra.forEach(report::put);
    report.put("spark_stages", stageMetrics.json());
    report.put("command", app.replaceFirst("^qspark ", ""));
    report.put("activation_histograms", ActivationHistograms.of(c.plan(), c.stats().histograms(), c.params()));
    report.put("partition", PartitionSection.of(m.graph(), cfg));
    QuantizedModel qm = new QuantizedModel(m.graph(), c.plan(), c.params());
    folder.write("quant_info.json", info);
    folder.write("quantize_eval_model.onnx", QdqExport.export(qm, m.graph(), 13).toByteArray());
    folder.write("float_model.onnx", blob.onnx());
    HtmlReport.write(folder, app + ": " + name, report.json(), info);
    folder.commit();
    report.print(out, folder.shown());
    out.flush();
    report.warnings().forEach(w -> err.println("qspark: warning: " + w));
    err.flush();
  }

  @Override
  public void close() {
    try {
      stageMetrics.close();
      lazy.close();
    } finally {
      folder.close();
    }
  }
}

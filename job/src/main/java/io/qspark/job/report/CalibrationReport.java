package io.qspark.job.report;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.OutputFidelity;
import io.qspark.kernels.quant.QuantError;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What calibration reports to people: per-layer SQNR, every output's SQNR, cosine and largest
 * difference against float, float vs quantized top-1 and agreement (classifiers),
 * stage timings, and the layers whose quantization collapsed, with the remedy. Written as
 * report.json and printed as a summary.
 */
public final class CalibrationReport {
  /**
   * A layer is flagged when its SQNR falls this far below the model's median: per-tensor
   * quantization of badly conditioned channels (one channel's range dwarfing the rest) shows
   * up as a cliff, not a slope.
   */
  static final double COLLAPSE_BELOW_MEDIAN_DB = 12;
  /** ...or below this absolute floor, where the quantized tensor is mostly noise. */
  static final double COLLAPSE_FLOOR_DB = 10;

  private final Map<String, Object> json = new LinkedHashMap<>();
  private final List<String> warnings = new ArrayList<>();
  /** Rows the console summary shows after its own (an accuracy budget's outcome). */
  private final List<String[]> summaryRows = new ArrayList<>();
  private final QuantError error;
  private final double[] seconds;
  private final long images;

  public CalibrationReport(Model m, String modelName, String sha256, QuantConfig cfg, String data, String master,
      int partitions, ActivationStats stats, QuantError error, double[] seconds) {
    this.error = error;
    this.seconds = seconds.clone();
    this.images = stats.images();
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("name", modelName);
    model.put("sha256", sha256);
    model.put("nodes_after_folding", m.graph().nodes().size());
    json.put("model", model);
    json.put("data", data);
    json.put("calibration_images", stats.images());
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("weight_bits", cfg.weightBits());
    c.put("activation_bits", cfg.activationBits());
    c.put("bias_bits", cfg.biasBits());
    if (!cfg.layers().isEmpty()) c.put("layers", cfg.layers().stream().map(r -> (Object) r.toMap()).toList());
    c.put("method", cfg.method().key());
    c.put("weight_granularity", cfg.weightGranularity().key());
    c.put("scales", cfg.scales().key());
    json.put("config", c);
    Map<String, Object> run = new LinkedHashMap<>();
    run.put("master", master);
    run.put("partitions", partitions);
    run.put("qspark", io.qspark.job.base.Build.version());
    run.put("spark", org.apache.spark.package$.MODULE$.SPARK_VERSION());
    run.put("java", System.getProperty("java.version"));
    json.put("run", run);
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("load_and_check_s", round(seconds[0]));
    t.put("statistics_s", round(seconds[1]));
    t.put("decide_s", round(seconds[2]));
    t.put("error_pass_s", round(seconds[3]));
    t.put("statistics_images_per_s", round(images / Math.max(1e-9, seconds[1])));
    json.put("timings", t);
    Map<String, Object> acc = new LinkedHashMap<>();
    acc.put("images", error.images());
    if (error.classifier()) acc.put("float_quant_agreement", error.agreement());
    if (error.hasLabels()) {
      acc.put("float_top1", error.floatTop1());
      acc.put("quant_top1", error.quantTop1());
    }
    json.put("accuracy_on_calibration_set", acc);
    json.put("outputs_against_float", error.outputs().json());
    Map<String, Double> sqnr = error.sqnrDb();
    double median = median(new ArrayList<>(sqnr.values()));
    List<Object> layers = new ArrayList<>();
    List<String> collapsed = new ArrayList<>();
    sqnr.forEach((name, db) -> {
      Map<String, Object> l = new LinkedHashMap<>();
      l.put("tensor", name);
      l.put("sqnr_db", Double.isInfinite(db) ? null : round(db));
      boolean bad = db < COLLAPSE_FLOOR_DB || db < median - COLLAPSE_BELOW_MEDIAN_DB;
      l.put("collapsed", bad);
      if (bad) collapsed.add(String.format(Locale.ROOT, "%s (%.1f dB)", name, db));
      layers.add(l);
    });
    json.put("median_sqnr_db", round(median));
    json.put("layers", layers);
    if (!collapsed.isEmpty()) {
      warnings.add("quantization error collapses at " + collapsed.size() + " tensor(s), median SQNR "
          + String.format(Locale.ROOT, "%.1f dB", median) + ": " + String.join(", ", collapsed)
          + ". Per-tensor power-of-two scales cannot serve channels of very different ranges there;"
          + " equalize them first (cross-layer equalization) or fine-tune: qspark finetune --cle"
          + " --bias-correction, or calibrate with more bits.");
    }
    json.put("warnings", new ArrayList<Object>(warnings));
  }

  private static double median(List<Double> v) {
    List<Double> f = new ArrayList<>();
    for (double d : v) if (!Double.isInfinite(d)) f.add(d);
    if (f.isEmpty()) return Double.POSITIVE_INFINITY;
    f.sort(null);
    return f.get(f.size() / 2);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  /** The stages of a multi-stage run (finetune) in order, with their wall time in seconds. */
  public void stages(Map<String, Double> seconds) {
    List<Object> list = new ArrayList<>();
    seconds.forEach((stage, s) -> {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("stage", stage);
      e.put("seconds", round(s));
      list.add(e);
    });
    json.put("stages", list);
  }

  /** Anything else a command records about its run (finetune's equalized pairs, corrected layers). */
  public void put(String key, Object value) {
    json.put(key, value);
  }

  public String json() {
    return Json.write(json);
  }

  /** Adds a row to the console summary. */
  public void summaryRow(String key, String value) {
    summaryRows.add(new String[] {key, value});
  }

  /** Adds a warning (console and report.json). */
  public void warn(String warning) {
    warnings.add(warning);
    json.put("warnings", new ArrayList<Object>(warnings));
  }

  public List<String> warnings() {
    return warnings;
  }

  /** What the console shows of a calibration: the folder, images, pass times, median SQNR, agreement and top-1. */
  public record Summary(String folder, long images, double statisticsSeconds, double errorSeconds, double medianSqnrDb,
      double agreement, boolean labelled, double floatTop1, double quantTop1, Map<String, OutputFidelity.Figures> outputs,
      List<String[]> more) {
    public void print(PrintWriter out) {
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"output", folder});
      rows.add(new String[] {"calibration images", Long.toString(images)});
      rows.add(new String[] {"statistics pass", String.format(Locale.ROOT, "%.1f s (%.0f images/s)", statisticsSeconds,
          images / Math.max(1e-9, statisticsSeconds))});
      rows.add(new String[] {"error pass", String.format(Locale.ROOT, "%.1f s", errorSeconds)});
      rows.add(new String[] {"median layer SQNR", String.format(Locale.ROOT, "%.1f dB", medianSqnrDb)});
      if (!Double.isNaN(agreement)) {
        rows.add(new String[] {"float/quantized agreement", String.format(Locale.ROOT, "%.2f%%", 100 * agreement)});
      }
      outputs.forEach((name, f) -> rows.add(new String[] {"output " + name, String.format(Locale.ROOT,
          "SQNR %s, cosine %.6f, max |diff| %.4g", f.sqnrShown(), f.cosine(), f.maxAbsDiff())}));
      if (labelled) {
        rows.add(new String[] {"top-1 float / quantized", String.format(Locale.ROOT, "%.2f / %.2f (calibration images)",
            floatTop1, quantTop1)});
      }
      rows.addAll(more);
      TextTable.keyValues(out, rows.toArray(new String[0][]));
    }
  }

  public Summary summary(String folder) {
    return new Summary(folder, images, seconds[1], seconds[3], (Double) json.get("median_sqnr_db"),
        error.classifier() ? error.agreement() : Double.NaN, error.hasLabels(), error.hasLabels() ? error.floatTop1() : Double.NaN,
        error.hasLabels() ? error.quantTop1() : Double.NaN, error.outputs().figures(), List.copyOf(summaryRows));
  }

  public void print(PrintWriter out, String folder) {
    summary(folder).print(out);
  }
}

package io.qspark.job.app;

import io.qspark.job.output.RunInputs;
import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Calibrate} does: the float model, the calibration images (the first
 * {@code calibSize} of the data) and their preprocessing, what to quantize to ({@link QuantConfig}),
 * the mini-batch size, one statistics pass or one per wave of layers ({@code sequential}), the
 * output folder and Spark; and optionally an accuracy budget ({@code budget}, null: none), which
 * raises the widths of the points that cost most until the calibration keeps within it; and
 * optionally an output-aware refinement of the fix_points ({@code refine}, {@link Refinement#NONE}: none).
 * Finetune and QAT calibrate with the same settings.
 */
public record CalibrateSettings(ModelSettings model, DataSettings data, PreprocessSettings preprocess, QuantConfig quant,
    int calibSize, int batch, boolean sequential, OutputSettings out, SparkSettings spark, AccuracyBudget budget,
    Refinement refine, int rangeGroups) {
  public static final int DEFAULT_CALIB_SIZE = 1000;
  public static final int DEFAULT_BATCH = 64;

  public CalibrateSettings {
    if (model == null) throw new IllegalArgumentException("--model must be given");
    if (data == null) throw new IllegalArgumentException("--data must be given");
    if (preprocess == null) preprocess = PreprocessSettings.NONE;
    if (quant == null) quant = QuantConfig.defaults();
    if (spark == null) spark = SparkSettings.DEFAULT;
    if (refine == null) refine = Refinement.NONE;
    if (refine.enabled() && quant.scales() != io.qspark.kernels.quant.ScaleKind.POWER_OF_TWO) {
      throw new IllegalArgumentException("--refine-rounds moves power-of-two fix_points; it does not apply to --scales "
          + quant.scales().key());
    }
    if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
    if (calibSize < 1) throw new IllegalArgumentException("--calib-size must be at least 1, got " + calibSize);
    if (rangeGroups < 1 || rangeGroups > MAX_RANGE_GROUPS) {
      throw new IllegalArgumentException("--range-groups must be 1 to " + MAX_RANGE_GROUPS + ", got " + rangeGroups);
    }
    if (rangeGroups > 1 && sequential) {
      throw new IllegalArgumentException("--range-groups chooses ranges in one statistics pass; it does not combine with --sequential");
    }
  }

  /** Runs of calibration images at most: each run's histograms are held by one task at a time. */
  public static final int MAX_RANGE_GROUPS = 4096;

  /** Settings as before range groups existed: one group (every image's histogram as one). */
  public CalibrateSettings(ModelSettings model, DataSettings data, PreprocessSettings preprocess, QuantConfig quant,
      int calibSize, int batch, boolean sequential, OutputSettings out, SparkSettings spark, AccuracyBudget budget,
      Refinement refine) {
    this(model, data, preprocess, quant, calibSize, batch, sequential, out, spark, budget, refine, 1);
  }

  /** 8-bit DPU quantization (mse) of the model from the first 1,000 images, no preprocessing, one pass. */
  public static CalibrateSettings of(ModelSettings model, DataSettings data, OutputSettings out) {
    return new CalibrateSettings(model, data, PreprocessSettings.NONE, QuantConfig.defaults(), DEFAULT_CALIB_SIZE,
        DEFAULT_BATCH, false, out, SparkSettings.DEFAULT, null, Refinement.NONE);
  }

  public CalibrateSettings withPreprocess(PreprocessSettings p) {
    return new CalibrateSettings(model, data, p, quant, calibSize, batch, sequential, out, spark, budget, refine, rangeGroups);
  }

  public CalibrateSettings withQuant(QuantConfig q) {
    return new CalibrateSettings(model, data, preprocess, q, calibSize, batch, sequential, out, spark, budget, refine, rangeGroups);
  }

  public CalibrateSettings withCalibSize(int n) {
    return new CalibrateSettings(model, data, preprocess, quant, n, batch, sequential, out, spark, budget, refine, rangeGroups);
  }

  public CalibrateSettings withSpark(SparkSettings s) {
    return new CalibrateSettings(model, data, preprocess, quant, calibSize, batch, sequential, out, s, budget, refine, rangeGroups);
  }

  public CalibrateSettings withBudget(AccuracyBudget b) {
    return new CalibrateSettings(model, data, preprocess, quant, calibSize, batch, sequential, out, spark, b, refine, rangeGroups);
  }

  /** The same with the fix_points refined as {@code r} says. */
  public CalibrateSettings withRefine(Refinement r) {
    return new CalibrateSettings(model, data, preprocess, quant, calibSize, batch, sequential, out, spark, budget, r, rangeGroups);
  }

  /**
   * The same with activation ranges chosen as the widest of {@code g} runs' choices
   * ({@link io.qspark.kernels.quant.RangeGroups}); 1: over all images at once.
   */
  public CalibrateSettings withRangeGroups(int g) {
    return new CalibrateSettings(model, data, preprocess, quant, calibSize, batch, sequential, out, spark, budget, refine, g);
  }

  /** A calibration without refinement (the settings as they were before it existed). */
  public CalibrateSettings(ModelSettings model, DataSettings data, PreprocessSettings preprocess, QuantConfig quant,
      int calibSize, int batch, boolean sequential, OutputSettings out, SparkSettings spark, AccuracyBudget budget) {
    this(model, data, preprocess, quant, calibSize, batch, sequential, out, spark, budget, Refinement.NONE);
  }

  /** What the run reads: the model and the data, which its outputs must keep apart from. */
  public RunInputs inputs() {
    return model.inputs().and(data.inputs());
  }

  /** The output settings, which writing a folder needs. */
  OutputSettings requireOut() {
    if (out == null) throw new IllegalArgumentException("--out must be given");
    return out;
  }

  /** As report.json's provenance records them. */
  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.putAll(model.json());
    m.putAll(data.json());
    m.put("preprocessing", preprocess.json());
    m.put("quantization", QuantInfo.config(quant));
    m.put("calib_size", calibSize);
    m.put("batch", batch);
    m.put("sequential", sequential);
    if (rangeGroups > 1) m.put("range_groups", rangeGroups);
    if (out != null) m.putAll(out.json());
    m.putAll(spark.json());
    if (budget != null) m.put("accuracy_budget", budget.json());
    if (refine.enabled()) m.put("refinement", refine.json());
    return m;
  }
}

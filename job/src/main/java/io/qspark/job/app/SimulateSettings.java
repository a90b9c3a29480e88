package io.qspark.job.app;

import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.SparkSettings;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Simulate} runs: the deploy folder, the images and their preprocessing (by default
 * the one the folder records), the mini-batch size, an optional accuracy gate, an optional
 * output folder for the figures, and Spark.
 *
 * @param maxTop1Drop the gate: the most simulated top-1 may fall below float's, in points; null: no gate
 * @param out where to write report.json/report.html, or null: nowhere
 * @param predictions where to write each image's simulated outputs as a Parquet table, or null: nowhere
 * @param dump where to write a golden per-layer dump of the first images, or null: nowhere
 * @param metric a segmentation metric against label masks (mIoU), or null: none
 */
public record SimulateSettings(String deploy, DataSettings data, PreprocessSettings preprocess, int batch, Double maxTop1Drop,
    OutputSettings out, OutputSettings predictions, Dump dump, SparkSettings spark, SegmentationMetric metric) {
  /**
   * A golden dump (dpu-sim/README.md, "Golden dumps"): every deploy layer's integers and the
   * fake-quant model's tensors for the first {@code images} images, computed on the driver.
   */
  public record Dump(OutputSettings out, int images) {
    /** Dumps are for checking layers by hand or against a board: a few images, computed on the driver. */
    public static final int MAX_IMAGES = 1000;

    public Dump {
      if (out == null) throw new IllegalArgumentException("--dump is empty");
      if (images < 1) throw new IllegalArgumentException("--dump-images must be at least 1, got " + images);
      if (images > MAX_IMAGES) {
        throw new IllegalArgumentException("--dump-images " + images + " is more than " + MAX_IMAGES
            + " (a dump holds every layer of every image, on the driver)");
      }
    }
  }

  public SimulateSettings {
    if (deploy == null || deploy.isBlank()) throw new IllegalArgumentException("--deploy is empty");
    if (data == null) throw new IllegalArgumentException("--data must be given");
    if (preprocess == null) preprocess = PreprocessSettings.NONE;
    if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
    if (maxTop1Drop != null && !(maxTop1Drop >= 0)) throw new IllegalArgumentException("--max-top1-drop must be at least 0, got " + maxTop1Drop);
    if (spark == null) spark = SparkSettings.DEFAULT;
  }

  public SimulateSettings(String deploy, DataSettings data, PreprocessSettings preprocess, int batch, Double maxTop1Drop,
      OutputSettings out, OutputSettings predictions, Dump dump, SparkSettings spark) {
    this(deploy, data, preprocess, batch, maxTop1Drop, out, predictions, dump, spark, null);
  }

  /** The deploy folder on these images, with the folder's preprocessing, batches of 64, no gate, nothing written. */
  public static SimulateSettings of(String deploy, DataSettings data) {
    return new SimulateSettings(deploy, data, PreprocessSettings.NONE, 64, null, null, null, null, SparkSettings.DEFAULT);
  }

  public SimulateSettings withPredictions(OutputSettings p) {
    return new SimulateSettings(deploy, data, preprocess, batch, maxTop1Drop, out, p, dump, spark, metric);
  }

  public SimulateSettings withDump(Dump d) {
    return new SimulateSettings(deploy, data, preprocess, batch, maxTop1Drop, out, predictions, d, spark, metric);
  }

  public SimulateSettings withMetric(SegmentationMetric m) {
    return new SimulateSettings(deploy, data, preprocess, batch, maxTop1Drop, out, predictions, dump, spark, m);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("deploy", deploy);
    m.putAll(data.json());
    m.put("preprocessing", preprocess.json());
    m.put("batch", batch);
    if (maxTop1Drop != null) m.put("max_top1_drop", maxTop1Drop);
    if (out != null) m.putAll(out.json());
    if (predictions != null) m.put("predictions", predictions.location());
    if (dump != null) {
      m.put("dump", dump.out().location());
      m.put("dump_images", dump.images());
    }
    if (metric != null) m.putAll(metric.json());
    m.putAll(spark.json());
    return m;
  }
}

package io.qspark.job.app;

import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.SparkSettings;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Evaluate} scores: a float model, or a calibration folder's quantized model (then
 * with the folder's preprocessing unless given), on labelled images, in mini-batches of at most
 * {@code batch} images, with Spark; optionally writing each image's outputs.
 *
 * @param predictions where to write each image's outputs (fake-quantized for a calibration
 *     folder) as a Parquet table, or null: nowhere
 * @param metric a segmentation metric against label masks (mIoU), or null: none
 * @param reference for a calibration folder, the float model its outputs are compared with instead
 *     of the folder's own float_model.onnx (which finetune and qat change), or null
 */
public record EvaluateSettings(ModelSettings model, DataSettings data, PreprocessSettings preprocess, int batch,
    OutputSettings predictions, SparkSettings spark, SegmentationMetric metric, ModelSettings reference) {
  public EvaluateSettings {
    if (model == null) throw new IllegalArgumentException("--model must be given");
    if (data == null) throw new IllegalArgumentException("--data must be given");
    if (preprocess == null) preprocess = PreprocessSettings.NONE;
    if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
    if (spark == null) spark = SparkSettings.DEFAULT;
  }

  public EvaluateSettings(ModelSettings model, DataSettings data, PreprocessSettings preprocess, int batch,
      OutputSettings predictions, SparkSettings spark) {
    this(model, data, preprocess, batch, predictions, spark, null, null);
  }

  public EvaluateSettings(ModelSettings model, DataSettings data, PreprocessSettings preprocess, int batch,
      OutputSettings predictions, SparkSettings spark, SegmentationMetric metric) {
    this(model, data, preprocess, batch, predictions, spark, metric, null);
  }

  public static EvaluateSettings of(ModelSettings model, DataSettings data) {
    return new EvaluateSettings(model, data, PreprocessSettings.NONE, 64, null, SparkSettings.DEFAULT);
  }

  public EvaluateSettings withPreprocess(PreprocessSettings p) {
    return new EvaluateSettings(model, data, p, batch, predictions, spark, metric, reference);
  }

  public EvaluateSettings withSpark(SparkSettings s) {
    return new EvaluateSettings(model, data, preprocess, batch, predictions, s, metric, reference);
  }

  public EvaluateSettings withPredictions(OutputSettings p) {
    return new EvaluateSettings(model, data, preprocess, batch, p, spark, metric, reference);
  }

  public EvaluateSettings withMetric(SegmentationMetric m) {
    return new EvaluateSettings(model, data, preprocess, batch, predictions, spark, m, reference);
  }

  public EvaluateSettings withReference(ModelSettings r) {
    return new EvaluateSettings(model, data, preprocess, batch, predictions, spark, metric, r);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.putAll(model.json());
    m.putAll(data.json());
    m.put("preprocessing", preprocess.json());
    m.put("batch", batch);
    if (predictions != null) m.put("predictions", predictions.location());
    if (metric != null) m.putAll(metric.json());
    if (reference != null) m.put("reference", reference.json());
    m.putAll(spark.json());
    return m;
  }
}

package io.qspark.job.app;

import io.qspark.job.data.ModelFiles;
import io.qspark.job.output.RunInputs;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which model a stage reads: an ONNX file, a Caffe deploy .prototxt (its weights: {@code weights},
 * else the .caffemodel of the same name beside it) or, where a stage takes one, a calibration
 * folder. Local paths or URIs of any Hadoop file system (hdfs://, s3a://, ...); without a
 * scheme, on the default file system, as data paths are.
 *
 * @param weights the Caffe weights, or null
 */
public record ModelSettings(String location, String weights) {
  public ModelSettings {
    if (location == null || location.isBlank()) throw new IllegalArgumentException("--model is empty");
    if (weights != null && weights.isBlank()) throw new IllegalArgumentException("--weights is empty");
  }

  public static ModelSettings of(String location) {
    return new ModelSettings(location, null);
  }

  /** What reading the model reads: the model (file, prototxt or calibration folder) and a Caffe model's weights. */
  public RunInputs inputs() {
    RunInputs r = RunInputs.none().with("--model", location);
    String w = ModelFiles.weightsOf(location, weights);
    return w == null || ModelFiles.isFolder(location) ? r : r.with(weights != null ? "--weights" : "the weights", w);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", location);
    if (weights != null) m.put("weights", weights);
    return m;
  }
}

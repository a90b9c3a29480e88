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
 * @param inputShapes the dimensions after the batch of inputs the export left dynamic, by input
 *     name (--input-shape NAME=C,H,W): the model is fixed to them before anything runs, and the
 *     folders written hold the fixed model
 */
public record ModelSettings(String location, String weights, Map<String, int[]> inputShapes) {
  public ModelSettings {
    if (location == null || location.isBlank()) throw new IllegalArgumentException("--model is empty");
    if (weights != null && weights.isBlank()) throw new IllegalArgumentException("--weights is empty");
    Map<String, int[]> copy = new LinkedHashMap<>();
    if (inputShapes != null) inputShapes.forEach((k, v) -> copy.put(k, v.clone()));
    inputShapes = java.util.Collections.unmodifiableMap(copy);
  }

  public ModelSettings(String location, String weights) {
    this(location, weights, Map.of());
  }

  public static ModelSettings of(String location) {
    return new ModelSettings(location, null);
  }

  /** The same model with these dimensions fixed (--input-shape). */
  public ModelSettings withInputShapes(Map<String, int[]> shapes) {
    return new ModelSettings(location, weights, shapes);
  }

  /** What reading the model reads: the model (file, prototxt or calibration folder) and a Caffe model's weights. */
  public RunInputs inputs() {
    RunInputs r = RunInputs.none().with("--model", location);
    String w = ModelFiles.weightsOf(location, weights);
    return w == null || ModelFiles.isFolder(location) ? r : r.with(weights != null ? "--weights" : "the weights", w);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ModelSettings m) || !m.location.equals(location) || !java.util.Objects.equals(m.weights, weights)
        || !m.inputShapes.keySet().equals(inputShapes.keySet())) {
      return false;
    }
    return inputShapes.entrySet().stream().allMatch(e -> java.util.Arrays.equals(e.getValue(), m.inputShapes.get(e.getKey())));
  }

  @Override
  public int hashCode() {
    return location.hashCode();
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("model", location);
    if (weights != null) m.put("weights", weights);
    if (!inputShapes.isEmpty()) {
      Map<String, Object> shapes = new LinkedHashMap<>();
      inputShapes.forEach((k, v) -> shapes.put(k, DataSettings.list(v)));
      m.put("input_shapes", shapes);
    }
    return m;
  }
}

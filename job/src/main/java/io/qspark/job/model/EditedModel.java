package io.qspark.job.model;

import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxExporter;
import java.util.List;
import java.util.Map;

/**
 * An inference graph changed on the driver (equalized, bias-corrected), as ONNX bytes for the
 * executors and the output folder's float_model.onnx, and as the driver's model re-imported from
 * those same bytes, so driver and executors plan quantization on one graph (fused activations
 * are written as their own nodes and fused again on import, under the same names).
 */
public record EditedModel(Model model, ModelBlob blob) {
  public static final long OPSET = 13;

  public static EditedModel of(Graph g, String name) {
    byte[] onnx = OnnxExporter.export(g, OPSET, Map.of(), Map.of(), List.of()).toByteArray();
    ModelBlob blob = ModelBlob.of(name, onnx);
    return new EditedModel(LoadedModels.inferenceModel(blob), blob);
  }
}

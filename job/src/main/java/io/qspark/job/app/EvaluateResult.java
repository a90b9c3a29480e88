package io.qspark.job.app;

import io.qspark.job.eval.EvalCounts;
import io.qspark.kernels.quant.OutputFidelity;
import java.util.Map;
import java.util.Optional;

/**
 * What {@link Evaluate} found: which model ran on what data with which preprocessing, where,
 * how fast, for a classifier with labels its counts (top-1 per class, top-5, agreement with the
 * float model when the model was quantized), and for a quantized model every output's fidelity
 * against the float model (SQNR, cosine, largest difference; empty for a float model).
 *
 * @param model the model as reports name it (source, format, digest, and its quant_info.json if quantized)
 * @param spark master, partitions and batch
 * @param segmentation mIoU against label masks (--metric miou), when asked for
 */
public record EvaluateResult(String model, String data, String preprocessing, String spark, double seconds, long images,
    Optional<EvalCounts> classification, Map<String, OutputFidelity.Figures> outputs, Optional<Segmentation> segmentation) {
  public EvaluateResult {
    outputs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(outputs));
  }

  public EvaluateResult(String model, String data, String preprocessing, String spark, double seconds, long images,
      Optional<EvalCounts> classification, Map<String, OutputFidelity.Figures> outputs) {
    this(model, data, preprocessing, spark, seconds, images, classification, outputs, Optional.empty());
  }
}

package io.qspark.job.app;

import io.qspark.job.report.CalibrationReport;
import java.util.List;

/**
 * What {@link Calibrate} (and {@link Finetune}) wrote: the folder, quant_info.json's text, the
 * console summary (images, pass times, median SQNR, agreement, top-1 when labelled) and the
 * report's warnings (layers whose quantization collapsed, with the remedy).
 */
public record CalibrationResult(String folder, String quantInfoJson, CalibrationReport.Summary summary, List<String> warnings) {
  public CalibrationResult {
    warnings = List.copyOf(warnings);
  }
}

package io.qspark.job.app;

import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.report.CalibrationReport;

/**
 * A finished calibration held in memory (what {@link Calibrate#calibrate} and
 * {@link Finetune#calibrate} return, and the Spark ML Estimator keeps): a calibration folder's
 * contents, not yet written anywhere, and its report.
 */
public record Calibration(CalibrationFolder.Contents contents, CalibrationReport report) {
  /** The result of writing it to {@code folder}. */
  CalibrationResult result(String folder) {
    return new CalibrationResult(folder, contents.quantInfo(), report.summary(folder), report.warnings());
  }
}

package io.qspark.job.app;

import io.qspark.job.output.CalibrationFolder;
import io.qspark.kernels.model.Model;
import java.util.Map;

/**
 * Post-training quantization of a float model from unlabelled images, as a Spark job: executors
 * build exactly mergeable histograms of every activation, the driver picks each fix_point; then
 * an error pass, and the calibration folder written atomically (quant_info.json, identical for
 * any partitioning; the QDQ and float models; report.json with the provenance; folder.json with
 * the preprocessing).
 */
public final class Calibrate {
  private final Notices notices;

  public Calibrate() {
    this(Notices.LOG);
  }

  public Calibrate(Notices notices) {
    this.notices = notices;
  }

  public CalibrationResult run(CalibrateSettings s) {
    long t0 = System.nanoTime();
    Models.Read read = Models.floatModel(s.model());
    Model m = read.model().forInference();
    try (CalibrationFolder.Writer out = CalibrationFolder.create(s.out().location(), s.out().overwrite());
        CalibrationRun run = CalibrationRun.open("qspark calibrate", s, read, notices)) {
      long t1 = System.nanoTime();
      CalibrationRun.Calibrated c = run.calibrate(m, read.blob(), "calibrate");
      long t2 = System.nanoTime();
      CalibrationRun.Finished f = run.finish(m, read.fileName(), read.blob(), c,
          new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9}, null, Map.of(), s.json());
      String shown = out.shown();
      out.commit(f.contents());
      return new CalibrationResult(shown, f.contents().quantInfo(), f.report().summary(shown), f.report().warnings());
    }
  }
}

package io.qspark.job.app;

import io.qspark.job.output.CalibrationFolder;
import io.qspark.kernels.model.Model;
import java.util.Map;

/**
 * Post-training quantization of a float model from unlabelled images, as a Spark job: executors
 * build exactly mergeable histograms of every activation, the driver picks each fix_point; then
 * an error pass, and the calibration folder written atomically (quant_info.json, identical for
 * any partitioning; the QDQ and float models; report.json with the provenance; folder.json with
 * the preprocessing). With an accuracy budget, the points that cost most are raised first
 * ({@link BudgetSearch}); with --refine-rounds, the fix_points are then refined against the
 * model's outputs ({@link FixPointRefinement}).
 */
public final class Calibrate {
  private final Notices notices;

  public Calibrate() {
    this(Notices.LOG);
  }

  public Calibrate(Notices notices) {
    this.notices = notices;
  }

  /** Calibrates and writes the folder ({@code s.out()}, which must be given). */
  public CalibrationResult run(CalibrateSettings s) {
    OutputSettings o = s.requireOut();
    try (CalibrationFolder.Writer out = CalibrationFolder.create(o.location(), o.overwrite(), s.inputs())) {
      Calibration c = calibrate(s);
      out.commit(c.contents());
      return c.result(out.shown());
    }
  }

  /** Calibrates, keeping the folder's contents in memory ({@code s.out()} is not used). */
  public Calibration calibrate(CalibrateSettings s) {
    long t0 = System.nanoTime();
    Models.Read read = Models.floatModel(s.model(), () -> ImageInputs.dataImage(s.data(), s.preprocess()), notices);
    Model m = read.model().forInference();
    try (CalibrationRun run = CalibrationRun.open("qspark calibrate", s, read, notices)) {
      long t1 = System.nanoTime();
      CalibrationRun.Calibrated c = run.calibrate(m, read.blob(), "calibrate");
      long t2 = System.nanoTime();
      if (s.budget() != null) c = BudgetSearch.apply(run, m.graph(), read.blob(), c, s.budget());
      c = run.refined(m.graph(), read.blob(), read.blob(), c);
      CalibrationRun.Finished f = run.finish(m, read.fileName(), read.blob(), c,
          new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9}, null, Map.of(), s.json());
      return new Calibration(f.contents(), f.report());
    }
  }
}

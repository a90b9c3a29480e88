package io.qspark.job.app;

import io.qspark.job.eval.VariantScores;
import io.qspark.job.output.SensitivityFolder;
import io.qspark.job.report.SensitivityReport;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.PointVariants;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sensitivity analysis: calibrates the model, then scores, for every quantization point (an
 * activation point, a layer's weights), the model with only that point quantized and the model
 * with every point but it quantized, against the float model on the calibration images: top-1
 * when they have labels, output SQNR for any model. One Spark job of (group of variants, data
 * shard) tasks, merged exactly; then one float evaluation of the same images as a single task
 * (one slot), which the job's cost is reported against. Writes the folder atomically.
 */
public final class Sensitivity {
  private final Notices notices;

  public Sensitivity() {
    this(Notices.LOG);
  }

  public Sensitivity(Notices notices) {
    this.notices = notices;
  }

  public SensitivityResult run(SensitivitySettings s) {
    CalibrateSettings cs = s.calibrate();
    OutputSettings o = cs.requireOut();
    try (SensitivityFolder.Writer out = SensitivityFolder.create(o.location(), o.overwrite(), cs.inputs())) {
      long t0 = System.nanoTime();
      Models.Read read = Models.floatModel(cs.model(), () -> ImageInputs.dataImage(cs.data(), cs.preprocess()), notices);
      Model m = read.model().forInference();
      try (CalibrationRun run = CalibrationRun.open("qspark sensitivity", cs, read, notices)) {
        CalibrationRun.Calibrated c = run.calibrate(m, read.blob(), "sensitivity: calibration");
        long t1 = System.nanoTime();
        List<PointVariants.Point> points = PointVariants.points(c.plan());
        List<PointVariants.Variant> variants = new ArrayList<>();
        variants.add(new PointVariants.Variant("all", run.cfg, c.params()));
        List<SensitivityReport.Scored> scored = new ArrayList<>();
        for (PointVariants.Point p : points) {
          int only = -1, allBut = -1;
          if (s.variants().only()) {
            only = variants.size();
            variants.add(new PointVariants.Variant("only " + p.name(), run.cfg, PointVariants.only(c.params(), p)));
          }
          if (s.variants().allBut()) {
            allBut = variants.size();
            variants.add(new PointVariants.Variant("all but " + p.name(), run.cfg, PointVariants.allBut(c.params(), p)));
          }
          scored.add(new SensitivityReport.Scored(p, only, allBut));
        }
        VariantScores scores = run.score(read.blob(), variants, "sensitivity");
        long t2 = System.nanoTime();
        double evaluation = run.oneEvaluationSeconds(read.blob(), "sensitivity: one evaluation");
        SensitivityReport report = new SensitivityReport(read.fileName(), read.blob().sha256(), run.cfg, scores, 0, scored);
        int slots = run.sc().defaultParallelism();
        Cost cost = new Cost(variants.size(), slots, (t2 - t1) / 1e9, evaluation);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "sensitivity");
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("name", read.fileName());
        model.put("sha256", read.blob().sha256());
        json.put("model", model);
        json.put("data", run.inputs.images.describe());
        json.put("calibration_images", c.stats().images());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("master", run.spark.runtime().master());
        r.put("partitions", run.partitions);
        r.put("slots", slots);
        r.put("qspark", io.qspark.job.base.Build.version());
        json.put("run", r);
        Map<String, Object> stages = new LinkedHashMap<>();
        stages.put("load_and_calibrate_s", round((t1 - t0) / 1e9));
        stages.put("sensitivity_s", round(cost.seconds()));
        stages.put("one_evaluation_s", round(cost.evaluationSeconds()));
        json.put("timings", stages);
        json.put("cost", cost.json());
        json.put("sensitivity", report.figures());
        json.put("preprocessing", run.inputs.record.json());
        json.put("provenance", run.provenance(read.fileName(), s.json()).json());
        out.commit(report.json(), report.csv(), Json.write(json), "qspark sensitivity: " + read.fileName(), run.inputs.record);
        return new SensitivityResult(out.shown(), report, cost);
      }
    }
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  /**
   * What the analysis cost: {@code variants} models scored in {@code seconds} on {@code slots}
   * task slots, against one evaluation of the float model on the same images in one task
   * ({@code evaluationSeconds}). With every variant as dear as an evaluation and the slots kept
   * busy, {@code seconds / evaluationSeconds} is about {@code variants / slots}.
   */
  public record Cost(int variants, int slots, double seconds, double evaluationSeconds) {
    public double evaluations() {
      return seconds / Math.max(1e-9, evaluationSeconds);
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("variants", variants);
      m.put("slots", slots);
      m.put("evaluations", round(evaluations()));
      m.put("variants_per_slot", round((double) variants / slots));
      return m;
    }
  }
}

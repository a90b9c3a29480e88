package io.qspark.job.cli;

import io.qspark.job.app.Calibrate;
import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.CalibrationResult;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** `qspark calibrate`: post-training quantization of a float model from unlabelled images, as a Spark job. */
@Command(name = "calibrate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Quantizes a float model to power-of-two fixed point (DPU-style: signed, per-tensor,"
        + " BatchNorm folded, activations fused) from calibration images, as a Spark job: executors build"
        + " exactly mergeable histograms of every activation, the driver picks each fix_point."
        + " --weight-granularity per-channel and --scales float target non-DPU runtimes instead.",
        "Writes --out atomically: quant_info.json (every fix_point and its statistics, identical for any"
        + " partitioning), quantize_eval_model.onnx (QDQ, runs in ONNX Runtime), float_model.onnx,"
        + " report.json (per-layer SQNR, float vs quantized top-1 when labels exist, timings, how it was made)"
        + " and folder.json (the preprocessing, which evaluate, deploy and simulate then apply)."})
final class CalibrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;
  @Mixin QuantOptions quant;
  @Mixin BudgetOptions budget;
  @Mixin RefineOptions refine;
  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    CalibrateSettings c = quant.settings(model, data, preprocess, spark);
    CalibrateSettings s = Mapping.settings(spec, () -> c.withBudget(budget.settings()).withRefine(refine.settings()));
    print(spec, new Calibrate(Mapping.notices(spec)).run(s));
    return ExitCodes.OK;
  }

  /** The summary table, then the report's warnings. */
  static void print(CommandSpec spec, CalibrationResult r) {
    var out = spec.commandLine().getOut();
    r.summary().print(out);
    out.flush();
    var err = spec.commandLine().getErr();
    r.warnings().forEach(w -> err.println("qspark: warning: " + w));
    err.flush();
  }
}

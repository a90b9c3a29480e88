package io.qspark.job.cli;

import io.qspark.job.UserError;
import io.qspark.job.eval.Classifier;
import io.qspark.job.output.AtomicFolder;
import io.qspark.job.spark.ModelBlob;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantPlan;
import java.io.PrintWriter;
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
        + " partitioning), quantize_eval_model.onnx (QDQ, runs in ONNX Runtime), float_model.onnx and"
        + " report.json (per-layer SQNR, float vs quantized top-1 when labels exist, timings)."})
final class CalibrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;
  @Mixin QuantOptions quant;
  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    CalibrationSession.checkOptions(quant, preprocess, spark, data);
    AtomicFolder.check(quant.out, quant.overwrite, model.inputs().and(data.inputs()));
    long t0 = System.nanoTime();
    if (model.quantInfo() != null) throw new UserError("--model is already a calibration folder; give the float model");
    Model m = model.load().forInference();
    QuantPlan.of(m.graph(), quant.config()); // layer rules that match no node fail before Spark starts
    ModelBlob blob = model.blob();
    PrintWriter err = spec.commandLine().getErr();
    try (CalibrationSession session = CalibrationSession.open("qspark calibrate", Classifier.of(m), model.inputs(), data,
        preprocess, quant, spark, err)) {
      long t1 = System.nanoTime();
      CalibrationSession.Calibrated c = session.calibrate(m, blob, "calibrate");
      long t2 = System.nanoTime();
      session.write(m, model.path().getFileName().toString(), blob, c, new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9},
          null, spec.commandLine().getOut(), java.util.Map.of());
    }
    return ExitCodes.OK;
  }
}

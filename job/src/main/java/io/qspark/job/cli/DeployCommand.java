package io.qspark.job.cli;

import io.qspark.job.app.Deploy;
import io.qspark.job.app.DeployResult;
import io.qspark.job.app.DeploySettings;
import io.qspark.job.app.OutputSettings;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `qspark deploy`: a calibration folder to the integer deploy model the DPU (and `simulate`) runs. */
@Command(name = "deploy", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Compiles a calibrated model into a deploy model: fused conv/fc + bias + activation, eltwise"
        + " add, pooling, integer weights and biases, every shift (bias, cut) checked against the DPU's ranges.",
        "Writes --out atomically: deploy_model.pb (format in dpu-sim/README.md), deploy_model.txt (per-layer"
        + " shifts), and the calibration's float_model.onnx and quant_info.json, which `simulate` compares with, and"
        + " report.json/report.html (partition, timings, the calibration's report), and folder.json with the"
        + " calibration's preprocessing, which `simulate` applies by default."})
final class DeployCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--calib", required = true, paramLabel = "DIR", order = 1,
      description = "A folder written by `qspark calibrate` (quant_info.json, float_model.onnx), local or on any"
          + " Hadoop file system.")
  String calib;

  @Option(names = "--out", required = true, paramLabel = "DIR", order = 2,
      description = "The folder to write, local or on any Hadoop file system (hdfs://...).")
  String out;

  @Option(names = "--overwrite", order = 3, description = "Replace --out if it exists (atomically).")
  boolean overwrite;

  @Option(names = "--target", order = 4, paramLabel = "TARGET", description = {TargetOption.DESCRIPTION,
      "Nodes the target cannot run (see `inspect --target`) become float CPU layers, dequantized at their inputs and"
          + " quantized at their outputs as the calibration decided. Without it every node must compile to a DPU layer."})
  String target;

  @Override
  public Integer call() {
    DeploySettings s = Mapping.settings(spec, () -> new DeploySettings(calib, new OutputSettings(out, overwrite), target));
    DeployResult r = new Deploy().run(s);
    PrintWriter w = spec.commandLine().getOut();
    w.print(r.summary());
    w.println("wrote " + r.folder());
    w.flush();
    return ExitCodes.OK;
  }
}

package io.qspark.job.cli;

import io.qspark.dpu.DeployCompiler;
import io.qspark.dpu.DeployException;
import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.DeploySummary;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.job.UserError;
import io.qspark.job.output.AtomicFolder;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.target.Partitioner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
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
        + " shifts), and the calibration's float_model.onnx and quant_info.json, which `simulate` compares with."})
final class DeployCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--calib", required = true, paramLabel = "DIR", order = 1,
      description = "A folder written by `qspark calibrate` (quant_info.json, float_model.onnx).")
  Path calib;

  @Option(names = "--out", required = true, paramLabel = "DIR", order = 2, description = "The folder to write.")
  Path out;

  @Option(names = "--overwrite", order = 3, description = "Replace --out if it exists (atomically).")
  boolean overwrite;

  @Option(names = "--target", order = 4, paramLabel = "TARGET", description = {TargetOption.DESCRIPTION,
      "Nodes the target cannot run (see `inspect --target`) become float CPU layers, dequantized at their inputs and"
          + " quantized at their outputs as the calibration decided. Without it every node must compile to a DPU layer."})
  String target;

  @Override
  public Integer call() throws IOException {
    DpuTarget t = target == null ? null : TargetOption.resolve(target); // a bad target fails before any reading
    Path info = calib.resolve("quant_info.json"), onnx = calib.resolve("float_model.onnx");
    if (!Files.isRegularFile(info) || !Files.isRegularFile(onnx)) {
      throw new UserError(calib + " is not a calibration folder (needs quant_info.json and float_model.onnx)");
    }
    String json = Files.readString(info);
    QuantInfo.Parsed q;
    try {
      q = QuantInfo.read(json);
    } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new UserError(info + " is not a valid qspark quant_info.json: " + e.getMessage(), e);
    }
    Model m = Model.load(onnx).forInference();
    DeployModel dm;
    try {
      Partition partition = t == null ? null : Partitioner.partition(m.graph(), t);
      dm = DeployCompiler.compile(m.graph(), q.config(), q.params(), q.modelSha256(), partition);
    } catch (DeployException e) {
      throw new UserError(calib + ": " + e.getMessage(), e);
    }
    String summary = DeploySummary.text(dm);
    try (AtomicFolder folder = AtomicFolder.begin(out, overwrite)) {
      folder.write(DeployFormat.FILE, dm.toByteArray());
      folder.write("deploy_model.txt", summary);
      folder.write("float_model.onnx", Files.readAllBytes(onnx));
      folder.write("quant_info.json", json);
      folder.commit();
    }
    PrintWriter w = spec.commandLine().getOut();
    w.print(summary);
    w.println("wrote " + out);
    w.flush();
    return ExitCodes.OK;
  }
}

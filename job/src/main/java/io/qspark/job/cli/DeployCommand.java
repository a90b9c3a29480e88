package io.qspark.job.cli;

import io.qspark.dpu.DeployCompiler;
import io.qspark.dpu.DeployException;
import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.DeploySummary;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.job.UserError;
import io.qspark.job.output.AtomicFolder;
import io.qspark.job.output.JobFolder;
import io.qspark.job.output.RunInputs;
import io.qspark.job.report.HtmlReport;
import io.qspark.job.report.PartitionSection;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
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
        + " report.json/report.html (partition, timings, the calibration's report)."})
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
  public Integer call() throws IOException {
    DpuTarget t = target == null ? null : TargetOption.resolve(target); // a bad target fails before any reading
    RunInputs inputs = RunInputs.none().with("--calib", calib);
    AtomicFolder.check(out, overwrite, inputs);
    long t0 = System.nanoTime();
    JobFolder in = JobFolder.open(calib);
    if (!in.isFile("quant_info.json") || !in.isFile("float_model.onnx")) {
      throw new UserError(in.shown() + " is not a calibration folder (needs quant_info.json and float_model.onnx)");
    }
    String json = in.readString("quant_info.json");
    byte[] onnx = in.read("float_model.onnx");
    QuantInfo.Parsed q;
    try {
      q = QuantInfo.read(json);
    } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new UserError(in.shown() + "/quant_info.json is not a valid qspark quant_info.json: " + e.getMessage(), e);
    }
    Model m = in.model("float_model.onnx").forInference();
    long t1 = System.nanoTime();
    DeployModel dm;
    Partition partition;
    try {
      // nodes a layer rule keeps in float go to the CPU side (DeployCompiler.partition)
      partition = t == null ? null : DeployCompiler.partition(m.graph(), q.config(), t);
      dm = DeployCompiler.compile(m.graph(), q.config(), q.params(), q.modelSha256(), partition);
    } catch (DeployException e) {
      throw new UserError(in.shown() + ": " + e.getMessage(), e);
    }
    long t2 = System.nanoTime();
    String summary = DeploySummary.text(dm);
    String shown;
    try (AtomicFolder folder = AtomicFolder.create(out, overwrite, inputs)) {
      shown = folder.shown();
      folder.write(DeployFormat.FILE, dm.toByteArray());
      folder.write("deploy_model.txt", summary);
      folder.write("float_model.onnx", onnx);
      folder.write("quant_info.json", json);
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("command", "deploy");
      report.put("calibration_folder", in.shown());
      report.put("model_sha256", q.modelSha256());
      report.put("deploy_layers", dm.getLayersCount());
      report.put("partition", partition != null ? PartitionSection.of(partition) : PartitionSection.of(m.graph(), q.config()));
      Map<String, Object> timings = new LinkedHashMap<>();
      timings.put("load_s", Math.round((t1 - t0) / 1e6) / 1e3);
      timings.put("compile_s", Math.round((t2 - t1) / 1e6) / 1e3);
      report.put("timings", timings);
      // the calibration's own report, so the page shows what the deployed fix_points came from
      if (in.isFile(HtmlReport.JSON)) report.put("calibration", Json.read(in.readString(HtmlReport.JSON)));
      HtmlReport.write(folder, "qspark deploy: " + in.shown(), Json.write(report), json);
      folder.commit();
    }
    PrintWriter w = spec.commandLine().getOut();
    w.print(summary);
    w.println("wrote " + shown);
    w.flush();
    return ExitCodes.OK;
  }
}

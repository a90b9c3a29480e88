package io.qspark.job.app;

import io.qspark.dpu.DeployCompiler;
import io.qspark.dpu.DeployException;
import io.qspark.dpu.DeploySummary;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.job.base.UserError;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.output.DeployFolder;
import io.qspark.job.output.RunInputs;
import io.qspark.job.report.PartitionSection;
import io.qspark.job.report.Provenance;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.target.TargetException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Compiles a calibration folder into the integer deploy model the DPU (and {@link Simulate})
 * runs: fused conv/fc + bias + activation, eltwise add, pooling, integer weights, every shift
 * checked against the DPU's ranges; with a target, the nodes it cannot run become float CPU
 * layers. No Spark. The deploy folder carries the calibration's preprocessing record.
 */
public final class Deploy {
  public DeployResult run(DeploySettings s) {
    DpuTarget target = s.target() == null ? null : target(s.target()); // a bad target fails before any reading
    // the output is checked (apart from the calibration folder, free or qspark's) before anything is read
    try (DeployFolder.Writer out = DeployFolder.create(s.out().location(), s.out().overwrite(),
        RunInputs.none().with("--calib", s.calibration()))) {
      long t0 = System.nanoTime();
      CalibrationFolder in = CalibrationFolder.open(s.calibration());
      QuantInfo.Parsed q = in.quantInfo();
      byte[] onnx = in.floatModelBytes();
      Model m = in.floatModel().forInference();
      long t1 = System.nanoTime();
      Partition partition = partition(m, q, target);
      DeployModel dm = compile(m, q, partition, in.shown());
      long t2 = System.nanoTime();
      String summary = DeploySummary.text(dm);
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("command", "deploy");
      report.put("calibration_folder", in.shown());
      report.put("model_sha256", q.modelSha256());
      report.put("deploy_layers", dm.getLayersCount());
      in.preprocessing().ifPresent(p -> report.put("preprocessing", p.json()));
      report.put("partition", section(m, q, partition));
      Map<String, Object> timings = new LinkedHashMap<>();
      timings.put("load_s", Math.round((t1 - t0) / 1e6) / 1e3);
      timings.put("compile_s", Math.round((t2 - t1) / 1e6) / 1e3);
      report.put("timings", timings);
      // the calibration's own report, so the page shows what the deployed fix_points came from
      in.report().ifPresent(r -> report.put("calibration", r));
      report.put("provenance", new Provenance(Provenance.model(m.source(), in.shown(), q.modelSha256()), null, s.json()).json());
      String shown = out.shown();
      out.commit(new DeployFolder.Contents(dm.toByteArray(), summary, Json.write(report), "qspark deploy: " + in.shown()),
          in, onnx);
      return new DeployResult(shown, summary, dm.getLayersCount(), (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }
  }

  /** A deploy model compiled in memory: its bytes, deploy_model.txt's text, its layer count and report.json. */
  public record Compiled(byte[] deployModel, String text, int layers, String reportJson) {
    /** As a deploy folder holds it beside the calibration it was compiled from. */
    public DeployFolder.Contents contents(CalibrationFolder.Contents from) {
      return new DeployFolder.Contents(deployModel, text, reportJson, "qspark deploy: " + from.reportTitle());
    }
  }

  /**
   * Compiles a calibration held in memory ({@link Calibrate#calibrate}'s contents, or a folder's
   * read back) as {@link #run} compiles a folder's.
   *
   * @param target as {@link DeploySettings#target}, or null
   */
  public Compiled compile(CalibrationFolder.Contents in, String target) {
    DpuTarget t = target == null ? null : target(target);
    Model m = LoadedModels.inferenceModel(ModelBlob.of(in.reportTitle(), in.floatModel()));
    QuantInfo.Parsed q = QuantInfo.read(in.quantInfo());
    Partition partition = partition(m, q, t);
    DeployModel dm = compile(m, q, partition, in.reportTitle());
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("command", "deploy");
    report.put("model_sha256", q.modelSha256());
    report.put("deploy_layers", dm.getLayersCount());
    if (in.preprocessing() != null) report.put("preprocessing", in.preprocessing().json());
    report.put("partition", section(m, q, partition));
    report.put("calibration", Json.read(in.reportJson()));
    return new Compiled(dm.toByteArray(), DeploySummary.text(dm), dm.getLayersCount(), Json.write(report));
  }

  /** Where each node runs on the target; nodes a layer rule keeps in float go to the CPU side (DeployCompiler.partition). */
  private static Partition partition(Model m, QuantInfo.Parsed q, DpuTarget target) {
    return target == null ? null : DeployCompiler.partition(m.graph(), q.config(), target);
  }

  private static Map<String, Object> section(Model m, QuantInfo.Parsed q, Partition partition) {
    return partition != null ? PartitionSection.of(partition) : PartitionSection.of(m.graph(), q.config());
  }

  private static DeployModel compile(Model m, QuantInfo.Parsed q, Partition partition, String shown) {
    try {
      return DeployCompiler.compile(m.graph(), q.config(), q.params(), q.modelSha256(), partition);
    } catch (DeployException e) {
      throw new UserError(shown + ": " + e.getMessage(), e);
    }
  }

  /** A bundled target name or a target YAML file. */
  static DpuTarget target(String nameOrPath) {
    try {
      return DpuTarget.resolve(nameOrPath);
    } catch (TargetException e) {
      throw new UserError(e.getMessage(), e);
    }
  }
}

package io.qspark.job.cli;

import io.qspark.job.report.InspectReport;
import io.qspark.job.report.ModelSummary;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.target.Partitioner;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `qspark inspect`: what a model is made of, before spending a cluster on it. No Spark. */
@Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Lists a model's nodes in execution order: op, output shape (N = batch), parameters,"
        + " multiply-accumulates per image; then totals. With --target, lists the inference graph (BatchNorm"
        + " folded, activations fused, as the DPU runs it) and says for every node whether it runs on the DPU"
        + " or the CPU and why, the DPU subgraphs and the CPU/DPU hand-overs. Runs on this machine, without Spark."})
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;

  @Option(names = "--json", order = 2,
      description = "Print the same facts as JSON (shapes with -1 for the batch) instead of a table.")
  boolean json;

  @Option(names = "--target", order = 3, paramLabel = "TARGET", description = TargetOption.DESCRIPTION)
  String target;

  @Option(names = "--input-shape", order = 4, paramLabel = "NAME=C,H,W", description = InputShapes.DESCRIPTION)
  java.util.List<String> inputShapes;

  @Override
  public Integer call() {
    DpuTarget t = target == null ? null : TargetOption.resolve(target); // a bad target fails before the model loads
    java.util.Map<String, int[]> shapes = InputShapes.parse(inputShapes);
    Model m = model.load();
    if (!shapes.isEmpty()) m = m.withInputShapes(shapes);
    Partition p = null;
    if (t != null) {
      m = m.forInference();
      p = Partitioner.partition(m.graph(), m.shapes(), t);
    }
    ModelSummary summary = ModelSummary.of(m);
    PrintWriter out = spec.commandLine().getOut();
    if (json) out.print(InspectReport.json(summary, p));
    else InspectReport.text(summary, p, out);
    out.flush();
    return ExitCodes.OK;
  }
}

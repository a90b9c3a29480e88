package io.qspark.job.cli;

import io.qspark.job.report.InspectReport;
import io.qspark.job.report.ModelSummary;
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
        + " multiply-accumulates per image; then totals. Runs on this machine, without Spark."})
final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;

  @Option(names = "--json", order = 2,
      description = "Print the same facts as JSON (shapes with -1 for the batch) instead of a table.")
  boolean json;

  @Override
  public Integer call() {
    ModelSummary summary = ModelSummary.of(model.load());
    PrintWriter out = spec.commandLine().getOut();
    if (json) out.print(InspectReport.json(summary));
    else InspectReport.text(summary, out);
    out.flush();
    return ExitCodes.OK;
  }
}

package io.qspark.job.cli;

import io.qspark.job.app.OutputSettings;
import io.qspark.job.app.Simulate;
import io.qspark.job.app.SimulateResult;
import io.qspark.job.app.SimulateSettings;
import io.qspark.job.report.EvaluationReport;
import io.qspark.job.report.OutputsTable;
import io.qspark.job.report.SegmentationTable;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `qspark simulate`: the deploy model's integer simulation over images, checked against fake-quant on every output. */
@Command(name = "simulate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Runs a deploy model (from `qspark deploy`) in the bit-exact integer simulator as a Spark job:"
        + " top-1, agreement with the float model, and the count of output integers that differ from the"
        + " fake-quant model's, over all outputs, and every output's SQNR against the float model. For a classifier"
        + " the last two lines are `mismatches: <count>` and `top1: <percent>`; for any other model the last line is"
        + " `mismatches: <count>`, after a line `mismatches <output>: <count>` and `sqnr <output>: <dB>` per output. With --metric miou,"
        + " `float miou: <percent>` and `miou: <percent>` (simulated) come before the mismatches.",
        "Images are preprocessed as the deploy folder records (the calibration's --mean, --std, ...); a flag that"
            + " contradicts the record is an error unless --override-preprocessing."})
final class SimulateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--deploy", required = true, paramLabel = "DIR", order = 1,
      description = "A folder written by `qspark deploy`, local or on any Hadoop file system.")
  String deploy;

  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;

  @Option(names = "--batch", paramLabel = "B", defaultValue = "64", order = 30,
      description = "At most B images per forward pass within a task, and fewer when B images'"
          + " activations would exceed 64 MiB (224x224 models). Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--max-top1-drop", paramLabel = "POINTS", order = 31,
      description = "Accuracy gate: exit with code 4 (after printing the results) when the simulated top-1 is more"
          + " than POINTS percentage points below the float model's on the same images. Default: no gate.")
  Double maxTop1Drop;

  @Option(names = "--out", paramLabel = "DIR", order = 32,
      description = "Also write the figures to this folder (atomically, local or hdfs://...): report.json and"
          + " report.html, with the deploy folder's partition and calibration report. Default: print only.")
  String out;

  @Option(names = "--predictions", paramLabel = "DIR", order = 33,
      description = "Also write each image's simulated outputs (the integers times 2^-fix_point, exact) to this folder"
          + " as a Parquet table: name, label and one array<float> column per output (atomically, local or hdfs://...).")
  String predictions;

  @Option(names = "--overwrite", order = 34, description = "Replace --out, --predictions and --dump if they exist (atomically).")
  boolean overwrite;

  @Mixin DumpOptions dump;

  @Mixin MetricOptions metric;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    int[] dims = preprocess.dims();
    SimulateSettings s = Mapping.settings(spec, () -> new SimulateSettings(deploy, metric.data(data, dims), preprocess.settings(),
        batch, maxTop1Drop, out == null ? null : new OutputSettings(out, overwrite),
        predictions == null ? null : new OutputSettings(predictions, overwrite), dump.settings(overwrite), spark.settings(),
        metric.settings(data)));
    SimulateResult r = new Simulate(Mapping.notices(spec)).run(s);
    PrintWriter o = spec.commandLine().getOut();
    // before the figures: their last lines are the result scripts read
    r.dump().ifPresent(d -> o.println(d.describe()));
    if (r.classification().isPresent()) {
      SimulateResult.Classification c = r.classification().get();
      new EvaluationReport(r.deployModel(), r.data(), r.preprocessing(), r.spark(), c.simulated(), r.seconds()).printTable(o);
      OutputsTable.print(o, "simulated", r.fidelity());
      r.segmentation().ifPresent(g -> SegmentationTable.print(o, g.output(), g.floatCounts(), g.compared(), "simulated"));
      o.println("float top1: " + SimulateResult.pct(c.floatTop1()));
      o.println("fake-quant top1: " + SimulateResult.pct(c.fakeQuantTop1()));
      o.println("agreement with float: " + SimulateResult.pct(c.agreementWithFloat()));
      r.segmentation().ifPresent(g -> SegmentationTable.miouLines(o, g.floatCounts(), g.compared()));
      o.println("output integers compared: " + r.outputIntegers());
      o.println("mismatches: " + r.mismatches());
      o.println("top1: " + SimulateResult.pct(c.top1()));
    } else {
      EvaluationReport.header(o, r.deployModel(), r.data(), r.preprocessing(), r.spark(), r.images(), r.seconds());
      OutputsTable.print(o, "simulated", r.fidelity());
      r.segmentation().ifPresent(g -> SegmentationTable.print(o, g.output(), g.floatCounts(), g.compared(), "simulated"));
      r.mismatchesPerOutput().forEach((name, n) -> o.println("mismatches " + name + ": " + n));
      OutputsTable.sqnrLines(o, r.fidelity());
      r.segmentation().ifPresent(g -> SegmentationTable.miouLines(o, g.floatCounts(), g.compared()));
      o.println("output integers compared: " + r.outputIntegers());
      o.println("mismatches: " + r.mismatches());
    }
    o.flush();
    if (r.gate().isPresent() && !r.gate().get().passed()) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("qspark: error: accuracy gate failed: simulated top-1 is " + SimulateResult.pct(r.gate().get().drop())
          + " points below float (--max-top1-drop " + maxTop1Drop + ")");
      err.flush();
      return ExitCodes.GATE_FAILED;
    }
    return ExitCodes.OK;
  }
}

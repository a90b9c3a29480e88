package io.qspark.job.cli;

import io.qspark.job.app.Evaluate;
import io.qspark.job.app.EvaluateResult;
import io.qspark.job.app.EvaluateSettings;
import io.qspark.job.app.OutputSettings;
import io.qspark.job.report.EvaluationReport;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `qspark evaluate`: top-1 (and top-5) of a float model on labelled images, as a Spark job. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Runs a float model over labelled images as a Spark job and reports top-1 per class"
        + " and overall. The last line of output is `top1: <percent>`.",
        "Pixels become inputs as x[c] = (pixel[swap[c]] * R / 255 - mean[c]) / std[c]; with a calibration folder as"
            + " --model, as the folder records unless given."})
final class EvaluateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;

  @Option(names = "--batch", paramLabel = "B", defaultValue = "64", order = 30,
      description = "At most B images per forward pass within a task, and fewer when B images'"
          + " activations would exceed 64 MiB (224x224 models). Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--predictions", paramLabel = "DIR", order = 31,
      description = "Also write each image's model outputs (fake-quantized for a calibration folder) to this folder as a"
          + " Parquet table: name, label and one array<float> column per output (atomically, local or hdfs://...).")
  String predictions;

  @Option(names = "--overwrite", order = 32, description = "Replace --predictions if it exists (atomically).")
  boolean overwrite;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    int[] dims = preprocess.dims();
    EvaluateSettings s = Mapping.settings(spec, () -> new EvaluateSettings(model.settings(), data.settings(dims),
        preprocess.settings(), batch, predictions == null ? null : new OutputSettings(predictions, overwrite), spark.settings()));
    EvaluateResult r = new Evaluate(Mapping.notices(spec)).run(s);
    PrintWriter out = spec.commandLine().getOut();
    new EvaluationReport(r.model(), r.data(), r.preprocessing(), r.spark(), r.classification().orElseThrow(), r.seconds())
        .print(out);
    out.flush();
    return ExitCodes.OK;
  }
}

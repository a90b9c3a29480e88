package io.qspark.job.cli;

import io.qspark.job.app.Evaluate;
import io.qspark.job.app.EvaluateResult;
import io.qspark.job.app.EvaluateSettings;
import io.qspark.job.app.ModelSettings;
import io.qspark.job.app.OutputSettings;
import io.qspark.job.app.Segmentation;
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

/** `qspark evaluate`: top-1 (and top-5) of a float model on labelled images, as a Spark job. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Runs a float model over labelled images as a Spark job and reports top-1 per class"
        + " and overall. The last line of output is `top1: <percent>`; with --metric miou, `miou: <percent>`.",
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

  @Option(names = "--reference", paramLabel = "MODEL", order = 33,
      description = "With a calibration folder: compare its quantized outputs with this float model's (ONNX, or a Caffe"
          + " prototxt with its .caffemodel beside it) instead of the folder's own float_model.onnx, which finetune"
          + " (bias correction, AdaQuant) and qat change: the model you gave them, to see the whole change.")
  String reference;

  @Mixin MetricOptions metric;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    int[] dims = preprocess.dims();
    EvaluateSettings s = Mapping.settings(spec, () -> new EvaluateSettings(model.settings(), metric.data(data, dims),
        preprocess.settings(), batch, predictions == null ? null : new OutputSettings(predictions, overwrite), spark.settings(),
        metric.settings(data)).withReference(reference == null ? null : ModelSettings.of(reference)));
    EvaluateResult r = new Evaluate(Mapping.notices(spec)).run(s);
    PrintWriter out = spec.commandLine().getOut();
    if (r.segmentation().isPresent()) {
      Segmentation g = r.segmentation().get();
      EvaluationReport.header(out, r.model(), r.data(), r.preprocessing(), r.spark(), r.images(), r.seconds());
      OutputsTable.print(out, "quantized", r.outputs());
      SegmentationTable.print(out, g.output(), g.floatCounts(), g.compared(), "quantized");
      OutputsTable.sqnrLines(out, r.outputs());
      SegmentationTable.miouLines(out, g.floatCounts(), g.compared());
    } else if (r.classification().isPresent()) {
      new EvaluationReport(r.model(), r.data(), r.preprocessing(), r.spark(), r.classification().get(), r.seconds())
          .print(out, r.outputs());
    } else {
      EvaluationReport.printFidelity(out, r.model(), r.data(), r.preprocessing(), r.spark(), r.images(), r.seconds(),
          r.outputs());
    }
    out.flush();
    return ExitCodes.OK;
  }
}

package io.qspark.job.cli;

import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.report.EvaluationReport;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.model.Model;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `qspark evaluate`: top-1 (and top-5) of a float model on labelled images, as a Spark job. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Runs a float model over labelled images as a Spark job and reports top-1 per class"
        + " and overall. The last line of output is `top1: <percent>`.",
        "Pixels become inputs as x[c] = (pixel[swap[c]] * R / 255 - mean[c]) / std[c]."})
final class EvaluateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;

  @Option(names = "--batch", paramLabel = "B", defaultValue = "64", order = 30,
      description = "At most B images per forward pass within a task, and fewer when B images'"
          + " activations would exceed 64 MiB (224x224 models). Default: ${DEFAULT-VALUE}.")
  int batch;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    // flags first (cheapest to check, and a usage error should not wait for a model to load) ...
    if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
    Preprocessing pre = preprocess.preprocessing();
    SparkSettings settings = spark.settings();
    DataRequest request = data.request(preprocess.dims(), preprocess.geometry());
    // ... then model and data, on the driver, before a Spark job is paid for (Spark starts
    // early only for data that needs it to open: Parquet and tables)
    Model m = model.load();
    Classifier classifier = Classifier.of(m);
    try (LazySpark lazy = new LazySpark("qspark evaluate", settings)) {
      DataSource images = DataSources.open(request, lazy, classifier.signature());
      images.requireLabels(classifier.classes());
      ScoringPlan plan = preprocess.scoringPlan(images, request.data(), classifier, batch);
      ModelBlob blob = model.blob();

      SparkRuntime runtime = lazy.runtime();
      int partitions = settings.partitionsFor(images.count(), plan.classifier().imageSize(), runtime.context().defaultParallelism());
      long t0 = System.nanoTime();
      EvalCounts counts = EvaluationJob.run(runtime.context(), images, blob, plan, partitions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", runtime.master(), partitions, plan.batch());
      String steps = images.preprocessed() ? "none (the data holds model inputs)"
          : request.geometry().isNone() ? pre.describe() : request.geometry().describe() + ", " + pre.describe();
      PrintWriter out = spec.commandLine().getOut();
      String what = m.source() + " (" + m.format() + ", sha256 " + m.sha256().substring(0, 12) + ")"
          + (blob.quantInfo() == null ? "" : ", quantized with " + model.model.resolve("quant_info.json"));
      new EvaluationReport(what, images.describe(), steps, where, counts, seconds).print(out);
      out.flush();
    }
    return ExitCodes.OK;
  }
}

package io.qspark.job.cli;

import io.qspark.dpu.DeployException;
import io.qspark.dpu.DeployFormat;
import io.qspark.job.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.eval.SimulationCounts;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.report.EvaluationReport;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.ModelBlob;
import io.qspark.job.spark.SimulationJob;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QuantInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `qspark simulate`: the deploy model's integer simulation over labelled images, checked against fake-quant. */
@Command(name = "simulate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Runs a deploy model (from `qspark deploy`) in the bit-exact integer simulator as a Spark job:"
        + " top-1, agreement with the float model, and the count of output integers that differ from the"
        + " fake-quant model's. The last two lines are `mismatches: <count>` and `top1: <percent>`."})
final class SimulateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--deploy", required = true, paramLabel = "DIR", order = 1,
      description = "A folder written by `qspark deploy`.")
  Path deploy;

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

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws IOException {
    if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
    Preprocessing pre = preprocess.preprocessing();
    SparkSettings settings = spark.settings();
    DataRequest request = data.request(preprocess.dims(), preprocess.geometry());
    Path pb = deploy.resolve(DeployFormat.FILE), onnx = deploy.resolve("float_model.onnx"), info = deploy.resolve("quant_info.json");
    for (Path p : new Path[] {pb, onnx, info}) {
      if (!Files.isRegularFile(p)) throw new UserError(deploy + " is not a deploy folder (no " + p.getFileName() + ")");
    }
    byte[] bytes = Files.readAllBytes(pb);
    try {
      DeployFormat.parse(bytes, pb.toString());
    } catch (DeployException e) {
      throw new UserError(e.getMessage(), e);
    }
    String json = Files.readString(info);
    try {
      QuantInfo.read(json);
    } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new UserError(info + " is not a valid qspark quant_info.json: " + e.getMessage(), e);
    }
    Model m = Model.load(onnx);
    Classifier classifier = Classifier.of(m);
    try (LazySpark lazy = new LazySpark("qspark simulate", settings)) {
      DataSource images = DataSources.open(request, lazy, classifier);
      images.requireLabels(classifier.classes());
      ScoringPlan plan = preprocess.scoringPlan(images, request.data(), classifier, batch);
      ModelBlob blob = ModelBlob.of(onnx).quantized(json);
      SimulationJob.Deployed deployed = new SimulationJob.Deployed(bytes, sha256(bytes));
      SparkRuntime runtime = lazy.runtime();
      int partitions = settings.partitionsFor(images.count(), runtime.context().defaultParallelism());
      long t0 = System.nanoTime();
      SimulationCounts counts = SimulationJob.run(runtime.context(), images, blob, deployed, plan, partitions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", runtime.master(), partitions, plan.batch());
      String steps = images.preprocessed() ? "none (the data holds model inputs)"
          : request.geometry().isNone() ? pre.describe() : request.geometry().describe() + ", " + pre.describe();
      PrintWriter out = spec.commandLine().getOut();
      new EvaluationReport(pb + " (integer simulation)", images.describe(), steps, where, counts.eval(), seconds).printTable(out);
      long n = counts.eval().images();
      double floatTop1 = 100.0 * counts.floatTop1() / Math.max(1, n);
      out.println("float top1: " + pct(floatTop1));
      out.println("fake-quant top1: " + pct(100.0 * counts.fakeQuantTop1() / Math.max(1, n)));
      out.println("agreement with float: " + pct(counts.eval().agreementPercent()));
      out.println("output integers compared: " + counts.outputs());
      out.println("mismatches: " + counts.mismatches());
      out.println("top1: " + pct(counts.eval().top1Percent()));
      out.flush();
      if (maxTop1Drop != null) {
        // on the printed (rounded) figures, so the gate agrees with what the user reads
        double drop = Double.parseDouble(pct(floatTop1)) - Double.parseDouble(pct(counts.eval().top1Percent()));
        if (drop > maxTop1Drop + 1e-9) {
          PrintWriter err = spec.commandLine().getErr();
          err.println("qspark: error: accuracy gate failed: simulated top-1 is " + pct(drop) + " points below float"
              + " (--max-top1-drop " + maxTop1Drop + ")");
          err.flush();
          return ExitCodes.GATE_FAILED;
        }
      }
    }
    return ExitCodes.OK;
  }

  private static String pct(double p) {
    return String.format(Locale.ROOT, "%.2f", p);
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

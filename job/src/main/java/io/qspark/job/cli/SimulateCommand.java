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
import io.qspark.job.output.AtomicFolder;
import io.qspark.job.output.DumpFolder;
import io.qspark.job.output.JobFolder;
import io.qspark.job.output.RunInputs;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.report.HtmlReport;
import io.qspark.kernels.io.Json;
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
import java.util.LinkedHashMap;
import java.util.Map;
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

  @Option(names = "--overwrite", order = 33, description = "Replace --out (and --dump) if it exists (atomically).")
  boolean overwrite;

  @Mixin DumpOptions dump;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() throws IOException {
    if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
    dump.check();
    Preprocessing pre = preprocess.preprocessing();
    SparkSettings settings = spark.settings();
    DataRequest request = data.request(preprocess.dims(), preprocess.geometry());
    RunInputs inputs = RunInputs.none().with("--deploy", deploy).and(data.inputs());
    if (out != null) AtomicFolder.check(out, overwrite, inputs);
    // the dump lands neither on the inputs nor on --out
    RunInputs dumpInputs = inputs.with("--out", out);
    if (dump.dir != null) AtomicFolder.check(dump.dir, overwrite, dumpInputs);
    JobFolder dep = JobFolder.open(deploy);
    String pb = dep.shown() + "/" + DeployFormat.FILE, onnx = dep.shown() + "/float_model.onnx";
    for (String f : new String[] {DeployFormat.FILE, "float_model.onnx", "quant_info.json"}) {
      if (!dep.isFile(f)) throw new UserError(dep.shown() + " is not a deploy folder (no " + f + ")");
    }
    byte[] bytes = dep.read(DeployFormat.FILE);
    try {
      if (!DeployFormat.sealed(DeployFormat.parse(bytes, pb))) {
        PrintWriter err = spec.commandLine().getErr();
        err.println("qspark: warning: " + pb + " has no content digest (an older qspark wrote it): its fields' ranges are"
            + " checked, damaged weights would go unnoticed; deploy the calibration again to add one");
        err.flush();
      }
    } catch (DeployException e) {
      throw new UserError(e.getMessage(), e);
    }
    String json = dep.readString("quant_info.json");
    try {
      QuantInfo.read(json);
    } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new UserError(dep.shown() + "/quant_info.json is not a valid qspark quant_info.json: " + e.getMessage(), e);
    }
    Model m = dep.model("float_model.onnx");
    Classifier classifier = Classifier.of(m);
    try (AtomicFolder folder = out == null ? null : AtomicFolder.create(out, overwrite, inputs);
        DumpFolder.Writer dumpTo = dump.dir == null ? null : DumpFolder.create(dump.dir, overwrite, dumpInputs);
        LazySpark lazy = new LazySpark("qspark simulate", settings)) {
      DataSource images = DataSources.open(request, lazy, classifier);
      images.requireLabels(classifier.classes());
      ScoringPlan plan = preprocess.scoringPlan(images, request.data(), classifier, batch);
      ModelBlob blob = ModelBlob.of(onnx, dep.read("float_model.onnx")).quantized(json);
      SimulationJob.Deployed deployed = new SimulationJob.Deployed(bytes, sha256(bytes));
      SparkRuntime runtime = lazy.runtime();
      int partitions = settings.partitionsFor(images.count(), plan.classifier().imageSize(), runtime.context().defaultParallelism());
      long t0 = System.nanoTime();
      SimulationCounts counts = SimulationJob.run(runtime.context(), images, blob, deployed, plan, partitions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (dumpTo != null) {
        GoldenDumps.write(runtime.context(), images, plan, bytes, m, json, dump.images, dumpTo, spec.commandLine().getOut());
      }
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", runtime.master(), partitions, plan.batch());
      String steps = images.preprocessed() ? "none (the data holds model inputs)"
          : request.geometry().isNone() ? pre.describe() : request.geometry().describe() + ", " + pre.describe();
      PrintWriter o = spec.commandLine().getOut();
      new EvaluationReport(pb + " (integer simulation)", images.describe(), steps, where, counts.eval(), seconds).printTable(o);
      long n = counts.eval().images();
      double floatTop1 = 100.0 * counts.floatTop1() / Math.max(1, n);
      o.println("float top1: " + pct(floatTop1));
      o.println("fake-quant top1: " + pct(100.0 * counts.fakeQuantTop1() / Math.max(1, n)));
      o.println("agreement with float: " + pct(counts.eval().agreementPercent()));
      o.println("output integers compared: " + counts.outputs());
      o.println("mismatches: " + counts.mismatches());
      o.println("top1: " + pct(counts.eval().top1Percent()));
      o.flush();
      if (folder != null) {
        writeReport(folder, dep, images.describe(), runtime.master(), partitions, counts, seconds);
        folder.commit();
      }
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

  /** report.json and report.html: the figures, and the deploy folder's partition and calibration report. */
  private static void writeReport(AtomicFolder folder, JobFolder dep, String data, String master, int partitions,
      SimulationCounts counts, double seconds) {
    long n = Math.max(1, counts.eval().images());
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("command", "simulate");
    r.put("deploy_folder", dep.shown());
    r.put("data", data);
    Map<String, Object> sim = new LinkedHashMap<>();
    sim.put("images", counts.eval().images());
    sim.put("top1", counts.eval().top1Percent());
    sim.put("float_top1", 100.0 * counts.floatTop1() / n);
    sim.put("fake_quant_top1", 100.0 * counts.fakeQuantTop1() / n);
    sim.put("agreement_with_float", counts.eval().agreementPercent());
    sim.put("output_integers", counts.outputs());
    sim.put("mismatches", counts.mismatches());
    r.put("simulation", sim);
    Map<String, Object> run = new LinkedHashMap<>();
    run.put("master", master);
    run.put("partitions", partitions);
    run.put("qspark", Version.qspark());
    r.put("run", run);
    Map<String, Object> timings = new LinkedHashMap<>();
    timings.put("simulation_s", Math.round(seconds * 1000) / 1000.0);
    r.put("timings", timings);
    if (dep.isFile(HtmlReport.JSON)) {
      @SuppressWarnings("unchecked")
      Map<String, Object> deployed = (Map<String, Object>) Json.read(dep.readString(HtmlReport.JSON));
      if (deployed.get("partition") != null) r.put("partition", deployed.get("partition"));
      if (deployed.get("calibration") != null) r.put("calibration", deployed.get("calibration"));
    }
    HtmlReport.write(folder, "qspark simulate: " + dep.shown(), Json.write(r), dep.readString("quant_info.json"));
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

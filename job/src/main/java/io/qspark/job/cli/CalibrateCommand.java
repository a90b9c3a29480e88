package io.qspark.job.cli;

import io.qspark.job.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.output.AtomicFolder;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.report.CalibrationReport;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.job.spark.ModelBlob;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QdqExport;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantError;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Waves;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `qspark calibrate`: post-training quantization of a float model from unlabelled images, as a Spark job. */
@Command(name = "calibrate", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Quantizes a float model to power-of-two fixed point (DPU-style: signed, per-tensor,"
        + " BatchNorm folded, activations fused) from calibration images, as a Spark job: executors build"
        + " exactly mergeable histograms of every activation, the driver picks each fix_point.",
        "Writes --out atomically: quant_info.json (every fix_point and its statistics, identical for any"
        + " partitioning), quantize_eval_model.onnx (QDQ, runs in ONNX Runtime), float_model.onnx and"
        + " report.json (per-layer SQNR, float vs quantized top-1 when labels exist, timings)."})
final class CalibrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;

  @Option(names = "--calib-size", paramLabel = "N", defaultValue = "1000", order = 13,
      description = "Calibration images: the first N of --data (all, with a warning, if it has fewer)."
          + " Default: ${DEFAULT-VALUE}.")
  int calibSize;

  @Option(names = "--method", paramLabel = "M", defaultValue = "mse", order = 30,
      description = "How activation fix_points are chosen: maxmin (no overflow), percentile, mse (Vitis'"
          + " 'diffs': least squared error among the no-overflow position and the next four) or entropy"
          + " (KL divergence). Default: ${DEFAULT-VALUE}.")
  String method;

  @Option(names = "--percentile", paramLabel = "P", defaultValue = "99.99", order = 31,
      description = "For --method percentile: the share of |x| kept unclipped, in percent. Default: ${DEFAULT-VALUE}.")
  double percentile;

  @Option(names = "--bits", paramLabel = "B", order = 32,
      description = "Bit width of weights and activations alike (2 to 16; the DPU uses 8, CHaiDNN also 6). Default: 8.")
  Integer bits;

  @Option(names = "--weight-bits", paramLabel = "B", order = 33, description = "Bit width of weights and biases (overrides --bits).")
  Integer weightBits;

  @Option(names = "--activation-bits", paramLabel = "B", order = 34, description = "Bit width of activations (overrides --bits).")
  Integer activationBits;

  @Option(names = "--batch", paramLabel = "B", defaultValue = "64", order = 35,
      description = "Images per forward pass within a task. Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--out", required = true, paramLabel = "DIR", order = 36,
      description = "Output folder; written atomically (a failed run leaves nothing there).")
  Path out;

  @Option(names = "--overwrite", order = 37, description = "Replace --out if it exists (atomically).")
  boolean overwrite;

  @Option(names = "--activation-rounding", paramLabel = "R", defaultValue = "half-up", order = 38,
      description = "Rounding of activations: half-up (the DPU's: -2.5 to -2, 2.5 to 3), half-away or"
          + " half-even. Default: ${DEFAULT-VALUE}.")
  String activationRounding;

  @Option(names = "--weight-rounding", paramLabel = "R", defaultValue = "half-away", order = 39,
      description = "Rounding of weights, biases and the network input (Vitis: half-away). Default: ${DEFAULT-VALUE}.")
  String weightRounding;

  @Option(names = "--input-nodes", split = ",", paramLabel = "NODE", order = 40,
      description = "First nodes of the quantized region (node or tensor names, as Vitis' input_nodes);"
          + " what comes before stays float. Default: the graph inputs.")
  java.util.List<String> inputNodes = new java.util.ArrayList<>();

  @Option(names = "--output-nodes", split = ",", paramLabel = "NODE", order = 41,
      description = "Last nodes of the quantized region (Vitis' output_nodes); what follows stays float."
          + " Default: the graph outputs.")
  java.util.List<String> outputNodes = new java.util.ArrayList<>();

  @Option(names = "--sequential", order = 42,
      description = "Calibrate layer by layer: each wave of layers on inputs already quantized by the"
          + " layers before it (one pass over the data per wave). Default: one pass on the float model.")
  boolean sequential;

  @Option(names = "--unsigned-activations", order = 43,
      description = "Experimental: activations never negative in calibration (after ReLU) use the unsigned"
          + " range, one more bit of resolution. The DPU computes signed only: deploy refuses such a model.")
  boolean unsignedActivations;

  @Mixin SparkOptions spark;

  QuantConfig config() {
    QuantConfig cfg;
    try {
      int b = bits == null ? 8 : bits;
      cfg = new QuantConfig(weightBits == null ? b : weightBits, activationBits == null ? b : activationBits,
          weightBits == null ? b : weightBits, Method.parse(method), percentile,
          io.qspark.kernels.quant.Rounding.parse(activationRounding), io.qspark.kernels.quant.Rounding.parse(weightRounding),
          inputNodes, outputNodes, unsignedActivations);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    return cfg;
  }

  @Override
  public Integer call() {
    if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
    if (calibSize < 1) throw new ParameterException(spec.commandLine(), "--calib-size must be at least 1, got " + calibSize);
    QuantConfig cfg = config();
    Preprocessing pre = preprocess.preprocessing();
    SparkSettings settings = spark.settings();
    DataRequest asked = data.request(preprocess.dims(), preprocess.geometry());
    int limit = data.limit == null ? calibSize : Math.min(calibSize, data.limit);
    DataRequest request = new DataRequest(asked.data(), asked.labels(), limit, asked.dims(), asked.geometry(),
        asked.imageColumn(), asked.labelColumn(), asked.strict());
    long t0 = System.nanoTime();
    if (model.quantInfo() != null) throw new UserError("--model is already a calibration folder; give the float model");
    Model m = model.load().forInference();
    Classifier classifier = Classifier.of(m);
    ModelBlob blob = model.blob();
    QuantPlan qplan = QuantPlan.of(m.graph(), cfg);
    PrintWriter err = spec.commandLine().getErr();
    try (AtomicFolder folder = AtomicFolder.begin(out, overwrite);
        LazySpark lazy = new LazySpark("qspark calibrate", settings)) {
      DataSource images = DataSources.open(request, lazy);
      if (images.count() == 0) throw new UserError("no calibration images in " + request.data());
      if (images.count() < calibSize) {
        err.printf("qspark: warning: --calib-size %d but %s holds %d images; calibrating on all of them%n",
            calibSize, request.data(), images.count());
        err.flush();
      }
      ScoringPlan plan = preprocess.scoringPlan(images, request.data(), classifier, batch);
      SparkRuntime runtime = lazy.runtime();
      int partitions = settings.partitionsFor(images.count(), runtime.context().defaultParallelism());
      long t1 = System.nanoTime();
      ActivationStats stats;
      QuantParams params;
      if (sequential) {
        stats = new ActivationStats();
        Map<String, FixPoint> acts = new LinkedHashMap<>();
        Map<String, FixPoint> ps = QuantParams.params(m.graph(), qplan, cfg);
        List<Set<String>> waves = Waves.of(m.graph(), qplan);
        for (int w = 0; w < waves.size(); w++) {
          ActivationStats s = CalibrationJob.statistics(runtime.context(), images, blob, plan, cfg, partitions,
              waves.get(w), QuantParams.partial(acts, ps), "calibrate: wave " + (w + 1) + "/" + waves.size());
          for (QuantPlan.ActivationPoint a : qplan.activations()) {
            if (waves.get(w).contains(a.name())) acts.put(a.name(), QuantParams.activation(m.graph(), a, s.histograms().get(a.name()), cfg));
          }
          if (w == 0) stats.addImages(s.images());
          s.histograms().forEach((k, h) -> stats.histograms().put(k, h));
        }
        Map<String, FixPoint> ordered = new LinkedHashMap<>();
        for (QuantPlan.ActivationPoint a : qplan.activations()) ordered.put(a.name(), acts.get(a.name()));
        params = QuantParams.legalized(m.graph(), qplan, ordered, ps);
      } else {
        stats = CalibrationJob.statistics(runtime.context(), images, blob, plan, cfg, partitions);
        params = QuantParams.decide(m.graph(), qplan, stats.histograms(), cfg);
      }
      long t2 = System.nanoTime();
      QuantizedModel qm = new QuantizedModel(m.graph(), qplan, params);
      String name = model.path().getFileName().toString();
      String info = QuantInfo.write(name, blob.sha256(), cfg, qplan, params, stats, m.graph());
      long t3 = System.nanoTime();
      QuantError error = CalibrationJob.error(runtime.context(), images, blob.quantized(info), plan, partitions);
      long t4 = System.nanoTime();
      CalibrationReport report = new CalibrationReport(m, name, blob.sha256(), cfg, images.describe(),
          runtime.master(), partitions, stats, error, new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9,
              (t3 - t2) / 1e9, (t4 - t3) / 1e9});
      folder.write("quant_info.json", info);
      folder.write("quantize_eval_model.onnx", QdqExport.export(qm, m.graph(), 13).toByteArray());
      folder.write("float_model.onnx", blob.onnx());
      folder.write("report.json", report.json());
      folder.commit();
      PrintWriter o = spec.commandLine().getOut();
      report.print(o, out);
      o.flush();
      report.warnings().forEach(w -> err.println("qspark: warning: " + w));
      err.flush();
    }
    return ExitCodes.OK;
  }
}

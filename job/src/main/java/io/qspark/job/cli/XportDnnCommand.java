package io.qspark.job.cli;

import io.qspark.job.output.ReportFiles;
import io.qspark.job.base.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.output.AtomicFile;
import io.qspark.job.output.RunInputs;
import io.qspark.job.preprocess.ImageGeometry;
import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.report.ActivationHistograms;
import io.qspark.job.report.PartitionSection;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.quant.QuantInfo;
import java.util.LinkedHashMap;
import java.util.Map;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.caffe.CaffeExporter;
import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.caffe.ChaiDnn;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `qspark xportdnn`: Xilinx XportDNN's command line (flag names and defaults), writing CHaiDNN's
 * quantized deploy prototxt from qspark's calibration, the calibration images spread over Spark.
 */
@Command(name = "xportdnn", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Writes a CHaiDNN deploy prototxt with precision_param blocks (Xilinx or DynamicFixed"
        + " mode), as Xilinx's XportDNN does and with its flags, from a Caffe model (or an ONNX one, which is"
        + " converted: its .caffemodel is written beside the output). Thresholds and fractional lengths come"
        + " from qspark's calibration, run as a Spark job over --calibration_directory.",
        "The output file is written atomically, with OUT.report.json and OUT.report.html beside it"
            + " (histograms and thresholds, DPU partition, timings)."})
final class XportDnnCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--quant_type", paramLabel = "T", defaultValue = "Xilinx", order = 1,
      description = "Xilinx (thresholds) or DynamicFixed (fractional lengths). Default: ${DEFAULT-VALUE}.")
  String quantType;

  @Option(names = "--deploy_model", required = true, paramLabel = "DEPLOY.prototxt", order = 2,
      description = "The Caffe deploy prototxt, or an ONNX model.")
  Path deployModel;

  @Option(names = "--weights", paramLabel = "W.caffemodel", order = 3,
      description = "The trained Caffe weights. Default: the .caffemodel beside --deploy_model.")
  Path weights;

  @Option(names = "--quantized_deploy_model", required = true, paramLabel = "OUT.prototxt", order = 4,
      description = "The CHaiDNN deploy prototxt to write.")
  Path out;

  @Option(names = "--bitwidths", split = ",", paramLabel = "IN,PARAMS,OUT", hideParamSyntax = true,
      defaultValue = "6,6,6", order = 5,
      description = "Bit widths of layer inputs, parameters and outputs: 8 or 6 (CHaiDNN's). Default: ${DEFAULT-VALUE}.")
  int[] bitwidths;

  @Option(names = "--bias-bits", paramLabel = "B", defaultValue = "16", order = 5,
      description = "Bit width of biases in the quantized model the prototxt describes (qspark's addition:"
          + " CHaiDNN sets bias precision itself, 16 bits at fl_layer_in + fl_params, and adds no wider ones)."
          + " Default: ${DEFAULT-VALUE}.")
  int biasBits;

  @Option(names = "--calibration_directory", paramLabel = "DATA", order = 6,
      description = "Calibration images: an image folder, or any --data form of qspark calibrate. Required in"
          + " Xilinx mode; in DynamicFixed mode, fractional lengths come from it unless --fl_bitwidths is given.")
  String calibrationDirectory;

  @Option(names = "--calibration_size", paramLabel = "N", defaultValue = "8", order = 7,
      description = "Calibration images: the first N. Default: ${DEFAULT-VALUE}.")
  int calibrationSize;

  @Option(names = "--dims", split = ",", paramLabel = "C,H,W", hideParamSyntax = true, order = 8,
      description = "Dimensions of the first layer; must be the model's. XportDNN's default 3,224,224;"
          + " here: the model's input.")
  int[] dims;

  @Option(names = "--resize", paramLabel = "S", order = 8,
      description = "Resize calibration images so their shorter side is S pixels (bilinear, antialiased when shrinking,"
          + " as torchvision's Resize(S)), for images of any size; qspark's addition, as in calibrate. Default: none"
          + " (images must have the size of --dims).")
  Integer resize;

  @Option(names = "--crop", split = ",", paramLabel = "H[,W]", hideParamSyntax = true, order = 8,
      description = "Then cut the center H x W out of each image (one number: square), as in calibrate; with --resize,"
          + " e.g. --resize 256 --crop 224, images of any size and shape become the model's. Default: none.")
  int[] crop;

  @Option(names = "--transpose", split = ",", paramLabel = "A,B,C", hideParamSyntax = true, defaultValue = "2,0,1",
      order = 9, description = "caffe.io.Transformer's set_transpose: qspark reads images channel-first, which"
          + " is 2,0,1 of an H,W,C image; only that is accepted. Default: ${DEFAULT-VALUE}.")
  int[] transpose;

  @Option(names = "--channel_swap", split = ",", paramLabel = "I", order = 10,
      description = "Model channel c takes image channel I[c] (set_channel_swap). Default: 2,1,0 (RGB to BGR)"
          + " for a 3-channel model; required for other channel counts.")
  int[] channelSwap;

  @Option(names = "--raw_scale", paramLabel = "R", defaultValue = "255.0", order = 11,
      description = "Pixels scaled to 0..R (set_raw_scale). Default: ${DEFAULT-VALUE}.")
  float rawScale;

  @Option(names = "--mean_value", split = ",", paramLabel = "M", order = 12,
      description = "Per-channel mean subtracted after --raw_scale (set_mean). Default: 104,117,123 for a"
          + " 3-channel model; required for other channel counts.")
  float[] meanValue;

  @Option(names = "--input_scale", paramLabel = "S", defaultValue = "1.0", order = 13,
      description = "Multiplier after the mean (set_input_scale). Default: ${DEFAULT-VALUE}.")
  float inputScale;

  @Option(names = "--fl_bitwidths", split = ",", paramLabel = "IN,PARAMS,OUT", hideParamSyntax = true, order = 14,
      description = "DynamicFixed mode: fractional lengths of inputs, parameters and outputs, fixed for every"
          + " layer. Default: 2,5,2 (XportDNN's) without --calibration_directory; with it, qspark's calibrated"
          + " fix_point per layer.")
  int[] flBitwidths;

  @Option(names = "--method", paramLabel = "M", defaultValue = "mse", order = 15,
      description = "How activation fix_points (and so thresholds) are chosen: maxmin, percentile, mse, entropy, as"
          + " in qspark calibrate; with maxmin a Xilinx threshold is the data's |max|. Default: ${DEFAULT-VALUE}.")
  String method;

  @Option(names = "--batch", paramLabel = "B", defaultValue = "64", order = 16,
      description = "At most B images per forward pass within a task, and fewer when B images'"
          + " activations would exceed 64 MiB (224x224 models). Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--overwrite", order = 17, description = "Replace --quantized_deploy_model if it exists.")
  boolean overwrite;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    ChaiDnn.Mode mode;
    Method m;
    ChaiDnn.Settings settings;
    boolean calibrated = calibrationDirectory != null && !(flBitwidths != null && quantType.equals("DynamicFixed"));
    try {
      mode = ChaiDnn.Mode.parse(quantType);
      m = Method.parse(method);
      int[] fl = mode == ChaiDnn.Mode.DYNAMIC_FIXED && !calibrated ? (flBitwidths == null ? new int[] {2, 5, 2} : flBitwidths) : null;
      settings = new ChaiDnn.Settings(mode, bitwidths, fl, biasBits);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (mode == ChaiDnn.Mode.XILINX && calibrationDirectory == null) {
      throw new ParameterException(spec.commandLine(), "Xilinx mode derives thresholds from images: give --calibration_directory");
    }
    if (calibrationSize < 1) throw new ParameterException(spec.commandLine(), "--calibration_size must be at least 1");
    if (!Arrays.equals(transpose, new int[] {2, 0, 1})) {
      throw new ParameterException(spec.commandLine(), "--transpose " + join(transpose) + ": qspark reads images"
          + " channel-first (H,W,C to C,H,W is 2,0,1); other layouts are not supported");
    }
    geometry(); // checked before anything is read
    // what the run reads is never written over: the model, its weights, the calibration images
    RunInputs inputs = RunInputs.none().with("--deploy_model", deployModel)
        .with("--weights", weights != null ? weights : CaffeImporter.isPrototxt(deployModel) ? CaffeImporter.weightsBeside(deployModel) : null)
        .with("--calibration_directory", calibrationDirectory);
    for (Path p : new Path[] {out, ReportFiles.jsonBeside(out), ReportFiles.htmlBeside(out), CaffeImporter.weightsBeside(out)}) {
      inputs.checkOutput(p == out ? "--quantized_deploy_model" : "the output", p);
    }
    AtomicFile.checkWritable(out, overwrite);
    ReportFiles.checkWritableBeside(out, overwrite);
    long t0 = System.nanoTime();
    PrintWriter err = spec.commandLine().getErr();
    boolean caffe = CaffeImporter.isPrototxt(deployModel);
    Path caffemodel = weights != null ? weights : CaffeImporter.weightsBeside(deployModel);
    CaffeImporter.Imported imp;
    NetParameter trained = null;
    if (caffe) {
      // --dims sizes a Data layer; SSD's priors and detection output pass through to CHaiDNN
      imp = CaffeImporter.loadForChaiDnn(deployModel, caffemodel, dims);
    } else {
      if (weights != null) throw new UserError("--weights is for a Caffe --deploy_model; an ONNX model holds its weights");
      trained = CaffeExporter.export(Model.load(deployModel).graph());
      imp = CaffeImporter.of(trained, trained, deployModel.toString());
    }
    imp.ignored().forEach(f -> err.println("qspark: warning: " + deployModel + ": ignored field " + f));
    Model model = Model.prepare(imp.graph(), deployModel.toString(), "", caffe ? "caffe" : "onnx").forInference();
    QuantConfig cfg = settings.config(m);
    QuantPlan plan = QuantPlan.of(model.graph(), cfg);
    ChaiDnn chai = new ChaiDnn(imp, model.graph(), plan);
    NetParameter net;
    long images = 0;
    long t1 = System.nanoTime();
    ActivationStats stats = null;
    QuantParams params = null;
    if (calibrated) {
      stats = statistics(model, imp, cfg);
      images = stats.images();
      params = QuantParams.decide(model.graph(), plan, stats.histograms(), cfg);
      net = chai.write(settings, params, stats.histograms(), m);
    } else {
      net = chai.write(settings, null, null, m);
    }
    long t2 = System.nanoTime();
    if (trained != null) {
      Path model2 = CaffeImporter.weightsBeside(out);
      AtomicFile.write(model2, trained.toByteArray(), overwrite);
      err.println("qspark: wrote the converted weights to " + model2);
    }
    AtomicFile.write(out, ChaiDnn.text(net).getBytes(StandardCharsets.UTF_8), overwrite);
    writeReport(model, cfg, plan, stats, params, mode, new double[] {(t1 - t0) / 1e9, (t2 - t1) / 1e9});
    chai.withoutPrecision(net, mode).forEach(w -> err.println("qspark: warning: " + w));
    long withPrecision = net.getLayerList().stream().filter(LayerParameter::hasPrecisionParam).count();
    PrintWriter o = spec.commandLine().getOut();
    o.printf("wrote %s: %s mode, bit widths %s, precision_param on %d of %d layers, %s%n", out, mode.key,
        join(bitwidths), withPrecision, net.getLayerCount(),
        calibrated ? "calibrated on " + images + " images (" + m.key() + ")" : "fractional lengths " + join(settings.fl()));
    o.flush();
    err.flush();
    return ExitCodes.OK;
  }

  /**
   * OUT.report.json and OUT.report.html beside the prototxt (xportdnn writes files, not a folder):
   * the histograms and thresholds of the calibration, the model's DPU partition, timings.
   */
  private void writeReport(Model model, QuantConfig cfg, QuantPlan plan, ActivationStats stats, QuantParams params,
      ChaiDnn.Mode mode, double[] seconds) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("command", "xportdnn");
    Map<String, Object> mdl = new LinkedHashMap<>();
    mdl.put("name", deployModel.getFileName().toString());
    mdl.put("sha256", model.sha256());
    r.put("model", mdl);
    r.put("output", out.toString());
    if (calibrationDirectory != null) r.put("data", calibrationDirectory);
    if (calibrationDirectory != null && !geometry().isNone()) r.put("geometry", geometry().describe());
    if (stats != null) r.put("calibration_images", stats.images());
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("quant_type", mode.key);
    c.put("weight_bits", cfg.weightBits());
    c.put("activation_bits", cfg.activationBits());
    c.put("bias_bits", cfg.biasBits());
    c.put("method", cfg.method().key());
    r.put("config", c);
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("load_s", Math.round(seconds[0] * 1000) / 1000.0);
    t.put("calibration_s", Math.round(seconds[1] * 1000) / 1000.0);
    r.put("timings", t);
    if (stats != null) r.put("activation_histograms", ActivationHistograms.of(plan, stats.histograms(), params));
    r.put("partition", PartitionSection.of(model.graph()));
    String json = Json.write(r);
    String info = stats == null ? null
        : QuantInfo.write(deployModel.getFileName().toString(), model.sha256(), cfg, plan, params, stats, model.graph());
    ReportFiles.writeBeside(out, "qspark xportdnn: " + deployModel.getFileName(), json, info, overwrite);
  }

  /** CalibrateCommand's statistics pass, with XportDNN's preprocessing flags. */
  private ActivationStats statistics(Model model, CaffeImporter.Imported imp, QuantConfig cfg) {
    int[] in = model.graph().inputs().get(0).shape();
    int[] modelDims = Arrays.copyOfRange(in, 1, in.length);
    if (dims != null && !Arrays.equals(dims, modelDims)) {
      throw new UserError("--dims " + join(dims) + " but the model's first layer takes " + join(modelDims));
    }
    boolean three = modelDims.length == 3 && modelDims[0] == 3;
    if (!three && (channelSwap == null || meanValue == null)) {
      throw new UserError("the model takes " + (modelDims.length == 3 ? modelDims[0] + " channel(s)" : join(modelDims))
          + "; XportDNN's --channel_swap and --mean_value defaults are for 3-channel BGR models: give both");
    }
    Preprocessing pre;
    try {
      float[] mean = meanValue != null ? meanValue : new float[] {104, 117, 123};
      float[] std = new float[mean.length];
      Arrays.fill(std, 1f / inputScale);
      pre = new Preprocessing(mean, std, rawScale, channelSwap != null ? channelSwap : new int[] {2, 1, 0});
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage().replace("--mean", "--mean_value")
          .replace("--std", "--input_scale").replace("--raw-scale", "--raw_scale").replace("--channel-swap", "--channel_swap"));
    }
    SparkSettings settings = spark.settings();
    DataRequest request = new DataRequest(calibrationDirectory, null, calibrationSize, dims, geometry(), null, null, false);
    ModelBlob blob = ModelBlob.of(deployModel.toString(), CaffeImporter.onnxBytes(imp));
    try (LazySpark lazy = new LazySpark("qspark xportdnn", settings)) {
      DataSource images = DataSources.open(request, lazy, ModelSignature.of(model));
      if (images.count() == 0) throw new UserError("no calibration images in " + calibrationDirectory);
      // only the input is read: an SSD net ends in several outputs (its loc and conf heads)
      Classifier input = Classifier.ofInput(ModelSignature.of(model), model.source());
      ScoringPlan plan;
      try {
        plan = ScoringPlan.of(pre, images.layout(), input, batch);
      } catch (GraphException e) {
        if (resize != null || crop != null || input.imageShape().length != 3) throw e;
        int[] s = input.imageShape();
        throw new UserError(e.getMessage() + "; give --resize and --crop to bring the images to it (e.g. --resize "
            + Math.min(s[1], s[2]) + " --crop " + s[1] + "," + s[2] + ")");
      }
      SparkRuntime runtime = lazy.runtime();
      int partitions = settings.partitionsFor(images.count(), plan.classifier().imageSize(), runtime.context().defaultParallelism());
      return CalibrationJob.statistics(runtime.context(), images, blob, plan, cfg, partitions);
    }
  }

  /** --resize and --crop, checked as calibrate checks them. */
  private ImageGeometry geometry() {
    try {
      return new PreprocessSettings(null, null, null, null, resize, crop, false).geometry();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private static String join(int[] v) {
    StringBuilder b = new StringBuilder();
    for (int x : v) b.append(b.length() == 0 ? "" : ",").append(x);
    return b.toString();
  }
}

package io.qspark.job.cli;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.OutputSettings;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.Granularity;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.ScaleKind;
import io.qspark.kernels.quant.Rounding;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** What to quantize to, on how many images, and where the output folder goes: shared by calibrate and finetune. */
public final class QuantOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

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

  @Option(names = "--weight-bits", paramLabel = "B", order = 33,
      description = "Bit width of weights (overrides --bits), and of biases unless --bias-bits.")
  Integer weightBits;

  @Option(names = "--activation-bits", paramLabel = "B", order = 34, description = "Bit width of activations (overrides --bits).")
  Integer activationBits;

  @Option(names = "--bias-bits", paramLabel = "B", order = 34,
      description = "Bit width of biases (2 to 16), apart from the weights': the DPU adds 8-bit biases into its"
          + " accumulator whatever the weight width, so 4-bit weights deploy with --bias-bits 8"
          + " (conf/ptq-4bit.yaml). Default: the weight width.")
  Integer biasBits;

  @Option(names = "--layer-bits", split = ";", paramLabel = "MATCH=B", order = 34,
      description = "Widths of some layers apart from the rest, as MATCH=B (weights, output activations and biases"
          + " at B bits) or MATCH=W,A,B (an empty field keeps the width above); rules apply in order, a later one"
          + " winning. MATCH is :input (the network input), :first (layers reading it), :last (the layers writing"
          + " the network output) or a regular expression of node names. E.g. ':input=8;:first=8;:last=8' keeps the"
          + " input and output layers at 8 bits (conf/ptq-4bit-io8.yaml). See docs/bit-widths.md.")
  List<String> layerBits = new ArrayList<>();

  @Mixin LayerRuleOptions layerRules;

  @Option(names = "--batch", paramLabel = "B", defaultValue = "64", order = 35,
      description = "At most B images per forward pass within a task, and fewer when B images'"
          + " activations would exceed 64 MiB (224x224 models). Default: ${DEFAULT-VALUE}.")
  int batch;

  @Option(names = "--out", required = true, paramLabel = "DIR", order = 36,
      description = "Output folder, local or on any Hadoop file system (hdfs://...); written atomically (a failed"
          + " run leaves nothing there).")
  String out;

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
  List<String> inputNodes = new ArrayList<>();

  @Option(names = "--output-nodes", split = ",", paramLabel = "NODE", order = 41,
      description = "Last nodes of the quantized region (Vitis' output_nodes); what follows stays float."
          + " Default: the graph outputs.")
  List<String> outputNodes = new ArrayList<>();

  @Option(names = "--range-groups", paramLabel = "G", defaultValue = "1", order = 31,
      description = "Cut the calibration images, in data order, into G runs; each activation point takes the"
          + " widest of the runs' choices by --method, so a few images with extreme activations are not"
          + " clipped at every point (docs/calibration.md). 1: one choice over all images. Default: ${DEFAULT-VALUE}.")
  int rangeGroups;

  @Option(names = "--sequential", order = 42,
      description = "Calibrate layer by layer: each wave of layers on inputs already quantized by the"
          + " layers before it (one pass over the data per wave). Default: one pass on the float model.")
  boolean sequential;

  @Option(names = "--unsigned-activations", order = 43,
      description = "Experimental: activations never negative in calibration (after ReLU) use the unsigned"
          + " range, one more bit of resolution. The DPU computes signed only: deploy refuses such a model.")
  boolean unsignedActivations;

  @Option(names = "--weight-granularity", paramLabel = "G", defaultValue = "per-tensor", order = 44,
      description = "per-tensor (the DPU's: one quantizer per weight tensor) or per-channel (one per output"
          + " channel of Conv/Gemm/MatMul weights, for non-DPU targets such as ONNX Runtime or TensorRT;"
          + " deploy refuses it). Default: ${DEFAULT-VALUE}.")
  String weightGranularity;

  @Option(names = "--scales", paramLabel = "K", defaultValue = "power-of-two", order = 45,
      description = "power-of-two (the DPU's fix_points) or float (scale = threshold / qmax, the threshold"
          + " chosen by --method over a grid of 128; biases int32 with scale s_in * s_w, as ONNX; for"
          + " non-DPU targets, deploy refuses it). Default: ${DEFAULT-VALUE}.")
  String scales;

  /** Every calibrating command's settings: the model, data and preprocessing, these options, and Spark. */
  CalibrateSettings settings(ModelOption model, DataOptions data, PreprocessOptions preprocess, SparkOptions spark) {
    check();
    QuantConfig cfg = config();
    int[] dims = preprocess.dims();
    return Mapping.settings(spec, () -> new CalibrateSettings(model.settings(), data.settings(dims), preprocess.settings(), cfg,
        calibSize, batch, sequential, new OutputSettings(out, overwrite), spark.settings(), null).withRangeGroups(rangeGroups));
  }

  QuantConfig config() {
    try {
      int b = bits == null ? 8 : bits;
      int w = weightBits == null ? b : weightBits;
      return new QuantConfig(
          new QuantConfig.Widths(w, activationBits == null ? b : activationBits, biasBits == null ? w : biasBits),
          Method.parse(method), percentile, Rounding.parse(activationRounding), Rounding.parse(weightRounding),
          new QuantConfig.Region(inputNodes, outputNodes),
          new QuantConfig.Scheme(unsignedActivations, Granularity.parse(weightGranularity), ScaleKind.parse(scales)),
          layerRules.rules(layerBits));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  /** Option checks that picocli's types do not make. */
  void check() {
    if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
    if (calibSize < 1) throw new ParameterException(spec.commandLine(), "--calib-size must be at least 1, got " + calibSize);
  }
}

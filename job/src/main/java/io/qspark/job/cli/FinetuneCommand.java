package io.qspark.job.cli;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.Finetune;
import io.qspark.job.app.FinetuneSettings;
import io.qspark.kernels.passes.CrossLayerEqualization;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `qspark finetune`: calibration with the remedies for models that per-tensor power-of-two
 * quantization hurts, in stages: cross-layer equalization → bias correction → AdaRound →
 * AdaQuant → final calibration (→ refinement of the fix_points). Writes the same folder as calibrate, its float_model.onnx being the changed float
 * graph the fix_points belong to.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Quantizes a float model as calibrate does, after changing the float model so it quantizes"
        + " better: --cle equalizes the weight ranges of consecutive layers (same float function),"
        + " --bias-correction removes the mean output shift weight quantization causes, measured on the"
        + " calibration images as Spark jobs (one per wave of layers), --adaround-steps learns how each weight"
        + " rounds, --adaquant-steps tunes weights.",
        "Writes --out as calibrate does (quant_info.json, quantize_eval_model.onnx, report.json with every"
        + " stage's time); float_model.onnx is the equalized and corrected float model the fix_points"
        + " belong to, so evaluate and deploy take the folder as they take calibrate's."})
final class FinetuneCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;
  @Mixin QuantOptions quant;

  @Option(names = "--cle", order = 50,
      description = "Cross-layer equalization (Nagel et al. 2019) of conv -> conv pairs whose first output feeds"
          + " only the second through no activation, ReLU or LeakyReLU (depthwise convs included); pairs across"
          + " a residual fan-out are left alone. The float model computes the same function. Kept"
          + " (with the bias correction, if asked) only if the quantized model then agrees with the float one on"
          + " significantly more calibration images than plain PTQ (McNemar's test, 2 standard deviations).")
  boolean cle;

  @Option(names = "--cle-relu6", paramLabel = "R", defaultValue = "keep", order = 51,
      description = "ReLU6 between two convs is not scale-invariant: keep leaves such pairs unequalized (the"
          + " function is exactly preserved); relu replaces ReLU6 by ReLU on them and equalizes, as Vitis AI"
          + " does (changes the float model where a value exceeded 6). Default: ${DEFAULT-VALUE}.")
  String cleRelu6;

  @Option(names = "--bias-correction", order = 52,
      description = "Empirical bias correction: per output channel, the mean change E[(W_q - W) x] of each"
          + " conv/gemm's pre-activation output over the calibration images is taken from its bias, layer"
          + " wave by layer wave in topological order; per-channel sums are exact, so the biases do not"
          + " depend on partitioning. Kept (with the equalization, if asked) only if the quantized model then"
          + " agrees with the float one on significantly more calibration images than plain PTQ.")
  boolean biasCorrection;

  @Option(names = "--adaquant-steps", paramLabel = "S", defaultValue = "0", order = 53,
      description = "AdaQuant (Hubara et al. 2020, as Vitis AI's fast fine-tune): Adam steps per layer over the"
          + " calibration images, tuning each conv/gemm's weights and bias so its quantized output matches the"
          + " float one; a layer's update is kept only if the model's output error improves. 10 (at a learning"
          + " rate of 0.02 x std(W)) tunes as well as Vitis' 20 at 0.01 x std(W) in half the time."
          + " Default: ${DEFAULT-VALUE} (off).")
  int adaquantSteps;

  @Option(names = "--adaquant-images-per-step", paramLabel = "N", defaultValue = "64", order = 54,
      description = "Images of each partition's cached shard used per AdaQuant step (0: all). Default: ${DEFAULT-VALUE}.")
  int adaquantImagesPerStep;

  @Option(names = "--adaround-steps", paramLabel = "S", defaultValue = "0", order = 55,
      description = "AdaRound (Nagel et al. 2020): per conv/gemm, S Adam steps learning whether each weight rounds"
          + " down or up (a soft rounding variable, its regularizer annealed to hard 0/1) so the layer's quantized"
          + " output matches the float one; runs before AdaQuant, a layer's update kept only if the model's output"
          + " error improves. The result is the same for any partitioning. 20 recommended."
          + " Default: ${DEFAULT-VALUE} (off).")
  int adaroundSteps;

  @Mixin RefineOptions refine;
  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    CalibrateSettings c = quant.settings(model, data, preprocess, spark);
    CrossLayerEqualization.Relu6 relu6 = relu6();
    FinetuneSettings s = Mapping.settings(spec, () -> new FinetuneSettings(c.withRefine(refine.settings()), cle, relu6, biasCorrection, adaquantSteps,
        adaquantImagesPerStep, adaroundSteps));
    CalibrateCommand.print(spec, new Finetune(Mapping.notices(spec)).run(s));
    return ExitCodes.OK;
  }

  private CrossLayerEqualization.Relu6 relu6() {
    switch (cleRelu6) {
      case "keep": return CrossLayerEqualization.Relu6.KEEP;
      case "relu": return CrossLayerEqualization.Relu6.TO_RELU;
      default: throw new ParameterException(spec.commandLine(), "--cle-relu6 must be keep or relu, got '" + cleRelu6 + "'");
    }
  }
}

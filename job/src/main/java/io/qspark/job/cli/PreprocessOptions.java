package io.qspark.job.cli;

import io.qspark.job.preprocess.PreprocessSettings;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * How raw pixels become model inputs, in Caffe's terms (the FPGA tool flows users come from):
 * x[c] = (pixel[swap[c]] * raw_scale / 255 - mean[c]) / std[c]. No flag has a built-in default
 * here: a flag not given (on the line or in --conf) takes the value a qspark folder records, else
 * the default its description names ({@link PreprocessSettings}).
 */
public final class PreprocessOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--resize", paramLabel = "S", order = 18,
      description = "Resize images so their shorter side is S pixels (bilinear, antialiased when shrinking, as"
          + " torchvision's Resize(S)), before everything else. Default: none, or recorded.")
  Integer resize;

  @Option(names = "--crop", split = ",", paramLabel = "H[,W]", hideParamSyntax = true, order = 19,
      description = "Then cut the center H x W out of each image (one number: square), as torchvision's"
          + " CenterCrop. Default: none, or recorded; without it every image must have the first image's size.")
  int[] crop;

  @Option(names = "--mean", split = ",", paramLabel = "M", order = 20,
      description = "Mean subtracted from each channel, in pixel units after --raw-scale"
          + " (0..255 by default): one value for all channels or one per channel. Default: 0, or the value the"
          + " folder read records (a deploy or calibration folder).")
  float[] mean;

  @Option(names = "--std", split = ",", paramLabel = "S", order = 21,
      description = "Divisor of each channel after the mean, same units and rules as --mean. Default: 1, or recorded.")
  float[] std;

  @Option(names = "--raw-scale", paramLabel = "R", order = 22,
      description = "Pixels are scaled from 0..255 to 0..R before --mean and --std (1 gives 0..1 inputs)."
          + " Default: 255, or recorded.")
  Float rawScale;

  @Option(names = "--channel-swap", split = ",", paramLabel = "I", order = 23,
      description = "Model channel c takes image channel I[c]: 2,1,0 turns RGB into BGR, 0,0,0 gray into 3 channels."
          + " Default: channels as stored, or recorded.")
  int[] channelSwap;

  @Option(names = "--override-preprocessing", order = 25,
      description = "Take the preprocessing flags given even where they contradict what the folder read records"
          + " (without it, that is an error). Default: off.")
  boolean overridePreprocessing;

  @Option(names = "--dims", split = ",", paramLabel = "C,H,W", hideParamSyntax = true, order = 24,
      description = "Shape of one image when the data does not say: a flat IDX of [n,784] (--dims 1,28,28), raw"
          + " pixels in a Parquet column. Default: the data's own dimensions.")
  int[] dims;

  /** The flags as settings: each given (on the line or in --conf) or null. */
  public PreprocessSettings settings() {
    return Mapping.settings(spec, () -> new PreprocessSettings(mean, std, rawScale, channelSwap, resize, crop,
        overridePreprocessing));
  }

  /** --dims as given (checked with the data settings: {@link io.qspark.job.app.DataSettings}). */
  public int[] dims() {
    return dims == null ? null : dims.clone();
  }
}

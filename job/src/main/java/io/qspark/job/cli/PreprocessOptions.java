package io.qspark.job.cli;

import io.qspark.job.preprocess.Preprocessing;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * How raw pixels become model inputs, in Caffe's terms (the FPGA tool flows users come from):
 * x[c] = (pixel[swap[c]] * raw_scale / 255 - mean[c]) / std[c].
 */
public final class PreprocessOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--mean", split = ",", paramLabel = "M", defaultValue = "0", order = 20,
      description = "Mean subtracted from each channel, in pixel units after --raw-scale"
          + " (0..255 by default): one value for all channels or one per channel. Default: ${DEFAULT-VALUE}.")
  float[] mean;

  @Option(names = "--std", split = ",", paramLabel = "S", defaultValue = "1", order = 21,
      description = "Divisor of each channel after the mean, same units and rules as --mean. Default: ${DEFAULT-VALUE}.")
  float[] std;

  @Option(names = "--raw-scale", paramLabel = "R", defaultValue = "255", order = 22,
      description = "Pixels are scaled from 0..255 to 0..R before --mean and --std (1 gives 0..1 inputs). Default: ${DEFAULT-VALUE}.")
  float rawScale;

  @Option(names = "--channel-swap", split = ",", paramLabel = "I", order = 23,
      description = "Model channel c takes image channel I[c]: 2,1,0 turns RGB into BGR, 0,0,0 gray into 3 channels. Default: channels as stored.")
  int[] channelSwap;

  @Option(names = "--dims", split = ",", paramLabel = "C,H,W", hideParamSyntax = true, order = 24,
      description = "Shape of one image when the data file does not say (a flat IDX of [n,784]: --dims 1,28,28). Default: the file's own dimensions.")
  int[] dims;

  public Preprocessing preprocessing() {
    try {
      return new Preprocessing(mean, std, rawScale, channelSwap);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  /** --dims as given, checked for form only (the data source checks it against the file). */
  public int[] dims() {
    if (dims == null) return null;
    boolean ok = dims.length == 3;
    for (int d : dims) ok &= d > 0;
    if (!ok) {
      throw new ParameterException(spec.commandLine(), "--dims needs three positive numbers C,H,W, got "
          + java.util.Arrays.toString(dims));
    }
    return dims.clone();
  }
}

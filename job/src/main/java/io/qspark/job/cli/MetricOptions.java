package io.qspark.job.cli;

import io.qspark.job.app.DataSettings;
import io.qspark.job.app.SegmentationMetric;
import picocli.CommandLine.Option;

/**
 * evaluate's and simulate's built-in task metric: --metric miou with --labels as the folder of
 * label masks (instead of an IDX labels file), and --output for a model of several outputs.
 */
final class MetricOptions {
  @Option(names = "--metric", paramLabel = "METRIC", order = 37,
      description = "Also score a segmenter: `miou`, the mean intersection over union of the argmax over the class axis"
          + " of an [N, classes, H, W] output against --labels, a folder of PNG label masks (8-bit gray or palette,"
          + " the class per pixel, 255 ignored), one per image, named as the image (a.jpg: MASKS/a.png) and of the"
          + " output's H x W. Prints `float miou: <percent>` and `miou: <percent>` for the scored model.")
  String metric;

  @Option(names = "--output", paramLabel = "NAME", order = 38,
      description = "With --metric: the output scored. Default: the model's only output with four dimensions.")
  String output;

  /** The metric asked for, or null; refuses an unknown metric and --output without --metric. */
  SegmentationMetric settings(DataOptions data) {
    if (metric == null) {
      if (output != null) throw new IllegalArgumentException("--output names the output --metric scores; give --metric miou");
      return null;
    }
    if (!metric.equals(SegmentationMetric.MIOU)) {
      throw new IllegalArgumentException("--metric must be " + SegmentationMetric.MIOU + ", got '" + metric + "'");
    }
    return new SegmentationMetric(data.labels, output);
  }

  /** The data settings: with --metric, --labels names the masks, not an IDX labels file. */
  DataSettings data(DataOptions data, int[] dims) {
    DataSettings d = data.settings(dims);
    return metric == null ? d : d.withLabels(null);
  }
}

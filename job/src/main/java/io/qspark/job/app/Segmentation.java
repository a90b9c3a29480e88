package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.HadoopFiles;
import io.qspark.job.data.LabelMasks;
import io.qspark.job.eval.SegmentationCounts;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.spark.ModelOutputs;
import io.qspark.job.spark.SegmentationJob;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * mIoU of a float model and of its quantized (fake-quant or simulated) model against label masks
 * (--metric miou): the output and masks checked on the driver, then one job over the images.
 *
 * @param floatCounts the float model's counts
 * @param compared the quantized or simulated model's counts, or null when only the float model was scored
 */
public record Segmentation(String output, String masks, SegmentationCounts floatCounts, SegmentationCounts compared) {
  /**
   * Checks, before any job: the output (--output, or the only one with four dimensions) is
   * [N, C, H, W] with a known C, the masks folder lists, and every image the driver can name has
   * a mask.
   */
  static SegmentationJob.Target target(SegmentationMetric metric, ModelSignature sig, DataSource data) {
    ModelSignature.Port port;
    if (metric.output() != null) {
      port = sig.output(metric.output()).orElseThrow(() -> new UserError("--output " + metric.output()
          + ": the model has no such output; its outputs: " + String.join(", ", names(sig))));
    } else {
      List<ModelSignature.Port> four = sig.outputs().stream().filter(p -> p.shape().length == 4).toList();
      if (four.size() != 1) {
        throw new UserError("--metric miou scores an [N, classes, H, W] output; the model has " + four.size()
            + " outputs with four dimensions (" + String.join(", ", names(sig)) + ")"
            + (four.isEmpty() ? "" : ": name one with --output"));
      }
      port = four.get(0);
    }
    int[] s = port.shape();
    if (s.length != 4 || s[1] < 1) {
      throw new UserError("--metric miou scores an [N, classes, H, W] output with a known class count; output '"
          + port.name() + "' is " + port);
    }
    LabelMasks masks = LabelMasks.open(metric.masks(), HadoopFiles.driverConfiguration());
    data.imageNames().ifPresent(masks::requireAll);
    return new SegmentationJob.Target(port.name(), s[1], masks);
  }

  private static List<String> names(ModelSignature sig) {
    return sig.outputs().stream().map(ModelSignature.Port::toString).toList();
  }

  /** Scores the float model and, when given, the quantized one, in one job. */
  static Segmentation run(JavaSparkContext sc, DataSource data, ModelOutputs.Spec floatModel, ModelOutputs.Spec quantized,
      io.qspark.job.eval.ScoringPlan plan, int partitions, SegmentationJob.Target target) {
    List<ModelOutputs.Spec> models = quantized == null ? List.of(floatModel) : List.of(floatModel, quantized);
    List<SegmentationCounts> c = SegmentationJob.run(sc, data, models, plan, partitions, target);
    return new Segmentation(target.output(), target.masks().shown(), c.get(0), quantized == null ? null : c.get(1));
  }

  /** For report.json: the output, the masks, the float model's figures and the compared model's under {@code what}. */
  public Map<String, Object> json(String what) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("output", output);
    m.put("labels", masks);
    m.put("classes", floatCounts.classes());
    m.put("ignore_index", SegmentationCounts.IGNORE);
    m.put("float", floatCounts.json());
    if (compared != null) m.put(what, compared.json());
    return m;
  }
}

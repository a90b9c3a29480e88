package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.data.DataSource;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.quant.PairedAgreement;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Two quantized models of one float model on the same images, image by image, as a
 * distributed pass: each task runs the float model of {@code baseline} (the reference) and both
 * quantized models on its images and counts the paired outcomes (for a classifier, which model
 * picks the float model's class; for any other model, which has the lower output error); treeAggregate adds the counts,
 * which are exact, so the decision taken on them does not depend on partitioning.
 */
public final class PairedAgreementJob {
  private PairedAgreementJob() {}

  private static Map<String, float[]> values(Map<String, io.qspark.kernels.tensor.Tensor> outputs) {
    Map<String, float[]> m = new java.util.LinkedHashMap<>();
    outputs.forEach((k, v) -> m.put(k, v.data()));
    return m;
  }

  /**
   * @param baseline the unchanged float model with its quant_info; its float model is the reference
   * @param candidate the changed float model with its own quant_info
   */
  public static PairedAgreement measure(JavaSparkContext sc, DataSource data, ModelBlob baseline, ModelBlob candidate,
      ScoringPlan plan, int partitions, String name) {
    boolean classifier = plan.model().classifier();
    String out = plan.model().outputs().get(0);
    return CalibrationJob.paired(sc, name, data, partitions, baseline, candidate, plan, PairedAgreement::new, (counts, b, c, batch) -> {
      Map<String, float[]> ref = values(b.executor().run(batch.feeds()));
      Map<String, float[]> without = values(b.outputs(batch.feeds())), with = values(c.outputs(batch.feeds()));
      if (classifier) {
        counts.add(ref.get(out), without.get(out), with.get(out), batch.size());
      } else {
        counts.addOutputs(ref, without, with, batch.size());
      }
    }, new PairedAgreement(), PairedAgreement::merge);
  }
}

package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.data.DataSource;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.quant.PairedAgreement;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Two quantized models of one float model on the same images, image by image, as a
 * distributed pass: each task runs the float model of {@code baseline} (the reference) and both
 * quantized models on its images and counts the paired outcomes; treeAggregate adds the counts,
 * which are exact, so the decision taken on them does not depend on partitioning.
 */
public final class PairedAgreementJob {
  private PairedAgreementJob() {}

  /**
   * @param baseline the unchanged float model with its quant_info; its float model is the reference
   * @param candidate the changed float model with its own quant_info
   */
  public static PairedAgreement measure(JavaSparkContext sc, DataSource data, ModelBlob baseline, ModelBlob candidate,
      ScoringPlan plan, int partitions, String name) {
    Broadcast<ModelBlob> cand = sc.broadcast(candidate);
    try {
      return CalibrationJob.pass(sc, name, data, partitions, done -> {
        Broadcast<ModelBlob> base = sc.broadcast(baseline);
        return new CalibrationJob.JobPass<>(base, done, images -> {
          LoadedModels.Loaded b = LoadedModels.get(base.value()), c = LoadedModels.get(cand.value());
          String in = b.model().graph().inputs().get(0).name(), out = b.model().graph().outputs().get(0);
          PairedAgreement counts = new PairedAgreement();
          InputBatches batches = new InputBatches(images, plan);
          while (batches.hasNext()) {
            InputBatches.Batch batch = batches.next();
            float[] ref = b.executor().run(Map.of(in, batch.input())).get(out).data();
            counts.add(ref, b.forward().apply(batch.input()).data(), c.forward().apply(batch.input()).data(), batch.size());
            done.add(batch.size());
          }
          return counts;
        });
      }, new PairedAgreement(), PairedAgreement::merge);
    } finally {
      cand.destroy();
    }
  }
}

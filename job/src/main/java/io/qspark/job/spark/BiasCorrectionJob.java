package io.qspark.job.spark;

import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.data.DataSource;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.quant.BiasCorrection;
import io.qspark.kernels.quant.ChannelSums;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * One wave of bias correction as a distributed pass: the model (float graph plus the fix_points
 * it is measured with) is broadcast, each task sums (W_q − W)·x per output channel of the
 * wave's layers over its images, and treeAggregate merges the sums. The sums are exact
 * integers ({@link ChannelSums}), so the corrected biases are the same for any partitioning.
 */
public final class BiasCorrectionJob {
  private BiasCorrectionJob() {}

  /** @param quantized the corrected-so-far float model with the quant_info to measure with */
  public static ChannelSums measure(JavaSparkContext sc, DataSource data, ModelBlob quantized, ScoringPlan plan,
      Set<String> layers, int partitions, String name) {
    return CalibrationJob.pass(sc, name, data, partitions, done -> {
      Broadcast<ModelBlob> blob = sc.broadcast(quantized);
      return new CalibrationJob.JobPass<>(blob, done, images -> {
        LoadedModels.Loaded l = LoadedModels.get(blob.value());
        ChannelSums sums = new ChannelSums();
        BiasCorrection.Measurement m = new BiasCorrection.Measurement(l.model().graph(), l.quantized(), layers, sums);
        String in = l.model().graph().inputs().get(0).name();
        InputBatches batches = new InputBatches(images, plan);
        while (batches.hasNext()) {
          InputBatches.Batch b = batches.next();
          m.run(in, b.input());
          done.add(b.size());
        }
        return sums;
      });
    }, new ChannelSums(), ChannelSums::merge);
  }
}

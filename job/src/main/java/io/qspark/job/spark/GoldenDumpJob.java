package io.qspark.job.spark;

import io.qspark.dpu.DumpException;
import io.qspark.dpu.GoldenDump;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.job.base.UserError;
import io.qspark.job.data.DataSource;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A golden dump of the first images of a data set ({@link GoldenDump}): they are taken to the
 * driver in the data's order (Spark's take), preprocessed as simulate's tasks preprocess them,
 * and run there through the simulator and the fake-quant model, layer by layer.
 */
public final class GoldenDumpJob {
  private GoldenDumpJob() {}

  /**
   * @param images how many images to dump (a fixed-batch export that mixes its batch needs a multiple of its batch)
   * @return the index written
   */
  public static GoldenDump.Index write(JavaSparkContext sc, DataSource data, ScoringPlan plan, DeployModel dm,
      QuantizedModel fakeQuant, int images, GoldenDump.Sink sink) {
    int per = Math.max(1, dm.getBatchChunk());
    if (images % per != 0) {
      throw new UserError("--dump-images " + images + ": the model was exported with a fixed batch of " + per
          + " that mixes its images, so it is dumped " + per + " images at a time; give a multiple of " + per);
    }
    sc.setJobGroup("qspark", "simulate: golden dump of " + images + " images", false);
    List<LabeledImage> first;
    try {
      first = data.images(sc, 1).take(images);
    } finally {
      sc.clearJobGroup();
    }
    if (first.size() < images) throw new UserError("--dump-images " + images + " but the data holds " + first.size() + " images");
    // one batch of all of them: a dump is a few images
    ScoringPlan all = new ScoringPlan(plan.preprocessing(), plan.layout(), plan.classifier(), images);
    InputBatches.Batch batch = new InputBatches(first.iterator(), all).next();
    Tensor x = batch.input();
    List<String> names = List.of(batch.names());
    try {
      return GoldenDump.write(dm, fakeQuant, Map.of(plan.classifier().input(), x), names, images / per, sink);
    } catch (DumpException e) {
      throw new UserError(e.getMessage(), e);
    }
  }
}

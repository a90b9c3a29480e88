package io.qspark.job.spark;

import io.qspark.job.data.DataSource;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.train.AdaRound;
import io.qspark.kernels.train.AdaRoundOptions;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * AdaRound (learned rounding) as a Spark job, on AdaQuant's shards: each partition's images
 * cached as one shard, the rounding variables stepped on the driver ({@link AdaRound}, the same
 * code as the single-JVM path). Per Adam step the driver sends the layer's soft-rounded weights
 * with the tasks; every partition computes the gradient of its share of the step's window of
 * images, image by image, and the parts come back ({@link PartMerge}), summed exactly: the tuned
 * model is the same bits for any partitioning.
 */
public final class AdaRoundJob {
  private AdaRoundJob() {}

  /**
   * Tunes the rounding of a calibrated model on a data source split into {@code partitions}.
   *
   * @param model the float model: the layers' targets
   * @param start initializer values the quantized model starts from instead of the model's
   */
  public static AdaRound.Result run(JavaSparkContext sc, DataSource data, ModelBlob model, Map<String, float[]> start,
      ScoringPlan plan, QuantConfig cfg, QuantParams params, AdaRoundOptions opt, int partitions, Consumer<String> log) {
    try {
      return run(sc, data.images(sc, partitions), model, start, plan, cfg, params, opt, log);
    } catch (RuntimeException e) {
      throw EvaluationJob.translate(e);
    }
  }

  /** The same on images already in an RDD (its partitioning is the job's; the result does not depend on it). */
  public static AdaRound.Result run(JavaSparkContext sc, JavaRDD<LabeledImage> images, ModelBlob model,
      Map<String, float[]> start, ScoringPlan plan, QuantConfig cfg, QuantParams params, AdaRoundOptions opt,
      Consumer<String> log) {
    Graph g = LoadedModels.get(model).model().graph();
    QuantPlan qp = QuantPlan.of(g, cfg);
    try (AdaQuantJob.SparkShards shards = new AdaQuantJob.SparkShards(sc, images, model, plan, cfg, opt.imagesPerStep(),
        opt.checkImages(), "AdaRound")) {
      return AdaRound.run(g, start, qp, params, cfg, opt, shards, log);
    } catch (Exception e) {
      throw EvaluationJob.translate(e);
    }
  }
}

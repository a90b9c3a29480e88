package io.qspark.job.spark;

import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.base.JobFailure;
import io.qspark.job.data.DataSource;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.BatchScorer;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.base.UserError;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Top-1/top-5 of a float model over a data set: the model bytes are broadcast once, each task
 * scores its partition in mini-batches with the JVM's cached executor and returns counts, and
 * the driver merges them with treeAggregate (no shuffle, and counts are exact in any order).
 */
public final class EvaluationJob {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.data");
  private static final long PROGRESS_INTERVAL_MS = 10_000;

  private EvaluationJob() {}

  public static EvalCounts run(JavaSparkContext sc, DataSource data, ModelBlob model, ScoringPlan plan,
      int partitions) {
    LongAccumulator done = sc.sc().longAccumulator("qspark.images");
    ProgressLog progress = new ProgressLog("evaluate", done, data.count(), PROGRESS_INTERVAL_MS);
    // names the stage in the Spark UI and in event logs
    sc.setJobGroup("qspark", "evaluate" + " (" + data.count() + " images)", false);
    sc.sc().addSparkListener(progress);
    Broadcast<ModelBlob> blob = sc.broadcast(model);
    try {
      JavaRDD<LabeledImage> images = data.images(sc, partitions);
      int classes = plan.classifier().classes();
      EvalCounts counts = images.mapPartitions(new ScorePartition(blob, plan, done))
          .treeAggregate(EvalCounts.empty(classes), EvalCounts::plus, EvalCounts::plus);
      // only after success: after a failure, tasks of the aborted stage may still be reading it
      blob.destroy();
      data.skippedWarning().ifPresent(LOG::warn);
      return counts;
    } catch (Exception e) { // SparkException is checked in Java's eyes but thrown undeclared from Scala
      throw translate(e);
    } finally {
      sc.sc().removeSparkListener(progress);
      sc.clearJobGroup();
    }
  }

  /**
   * Spark wraps what a task threw; a model or data problem found there is still the user's to
   * fix, anything else is the job's failure (with Spark's first line, not its remote stack trace).
   */
  static RuntimeException translate(Exception e) {
    RuntimeException user = UserError.findIn(e);
    if (user != null) return user;
    if (e.getClass().getName().startsWith("org.apache.spark")) {
      return new JobFailure("Spark job failed: " + JobFailure.firstLine(e), e);
    }
    return e instanceof RuntimeException r ? r : new IllegalStateException(e);
  }

  /** One task: load (or reuse) the model in this JVM, score the partition, count the images for progress. */
  private static final class ScorePartition implements FlatMapFunction<Iterator<LabeledImage>, EvalCounts> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<ModelBlob> model;
    private final ScoringPlan plan;
    private final LongAccumulator done;

    ScorePartition(Broadcast<ModelBlob> model, ScoringPlan plan, LongAccumulator done) {
      this.model = model;
      this.plan = plan;
      this.done = done;
    }

    @Override
    public Iterator<EvalCounts> call(Iterator<LabeledImage> images) {
      LoadedModels.Loaded l = LoadedModels.get(model.value());
      // a quantized model is also compared with its float model, image by image
      var reference = l.quantized() == null ? null : (java.util.function.UnaryOperator<io.qspark.kernels.tensor.Tensor>) l.executor()::run;
      EvalCounts counts = new BatchScorer(l.forward(), reference, plan).score(images);
      done.add(counts.images());
      return List.of(counts).iterator();
    }
  }
}

package io.qspark.job.app;

import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.kernels.model.Model;
import java.util.Locale;
import java.util.Optional;

/**
 * Scores a model on labelled images as a Spark job: a float model, or a calibration folder's
 * fake-quantized model (with its agreement with the float model), the folder's recorded
 * preprocessing applied unless given. Models and data are checked on the driver before a job
 * is paid for.
 */
public final class Evaluate {
  private final Notices notices;

  public Evaluate() {
    this(Notices.LOG);
  }

  public Evaluate(Notices notices) {
    this.notices = notices;
  }

  public EvaluateResult run(EvaluateSettings s) {
    Models.Read read = Models.anyModel(s.model());
    Model m = read.model();
    ModelSignature sig = ModelSignature.of(m);
    Classifier classifier = Classifier.of(sig, m.source());
    try (LazySpark spark = new LazySpark("qspark evaluate", s.spark())) {
      ImageInputs in = ImageInputs.open(s.data(), s.preprocess(),
          read.folder() == null ? null : read.folder().preprocessing().orElse(null),
          read.folder() == null ? null : read.folder().shown(), spark, sig, classifier, s.batch());
      in.images.requireLabels(classifier.classes());
      int partitions = in.partitions(s.spark(), spark);
      in.warnIfUnnormalized(spark, notices);
      long t0 = System.nanoTime();
      EvalCounts counts = EvaluationJob.run(spark.runtime().context(), in.images, read.blob(), in.plan, partitions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", spark.runtime().master(), partitions,
          in.plan.batch());
      String what = m.source() + " (" + m.format() + ", sha256 " + m.sha256().substring(0, 12) + ")"
          + (read.folder() == null ? "" : ", quantized with " + read.folder().quantInfoShown());
      return new EvaluateResult(what, in.images.describe(), in.steps(), where, seconds, counts.images(), Optional.of(counts));
    }
  }
}

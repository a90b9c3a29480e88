package io.qspark.job.app;

import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.output.PredictionsTable;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.ModelOutputs;
import io.qspark.job.spark.PredictionJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.kernels.model.Model;
import java.util.Locale;
import java.util.Optional;

/**
 * Scores a model on labelled images as a Spark job: a float model, or a calibration folder's
 * fake-quantized model (with its agreement with the float model), the folder's recorded
 * preprocessing applied unless given; optionally each image's outputs as a table. Models and
 * data are checked on the driver before a job is paid for.
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
    try (PredictionsTable.Writer predictions = s.predictions() == null ? null
            : PredictionsTable.create(s.predictions().location(), s.predictions().overwrite(),
                s.model().inputs().and(s.data().inputs()));
        LazySpark spark = new LazySpark("qspark evaluate", s.spark())) {
      ImageInputs in = ImageInputs.open(s.data(), s.preprocess(),
          read.folder() == null ? null : read.folder().preprocessing().orElse(null),
          read.folder() == null ? null : read.folder().shown(), spark, sig, classifier, s.batch());
      in.images.requireLabels(classifier.classes());
      s.spark().requireFits(in.images.count());
      int partitions = in.partitions(s.spark(), spark);
      in.warnIfUnnormalized(spark, notices);
      long t0 = System.nanoTime();
      EvalCounts counts = EvaluationJob.run(spark.runtime().context(), in.images, read.blob(), in.plan, partitions);
      double seconds = (System.nanoTime() - t0) / 1e9;
      // a second pass, after the figures' timing: the outputs of every image, written as a table
      if (predictions != null) {
        ModelOutputs.Spec spec = new ModelOutputs.Spec(read.folder() == null ? ModelOutputs.Mode.FLOAT
            : ModelOutputs.Mode.FAKEQUANT, read.blob(), null, classifier.input());
        predictions.commit(PredictionJob.table(spark.get(), in.images, spec, in.plan, partitions,
            sig.outputs().stream().map(ModelSignature.Port::name).toList()));
      }
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", spark.runtime().master(), partitions,
          in.plan.batch());
      String what = m.source() + " (" + m.format() + ", sha256 " + m.sha256().substring(0, 12) + ")"
          + (read.folder() == null ? "" : ", quantized with " + read.folder().quantInfoShown());
      return new EvaluateResult(what, in.images.describe(), in.steps(), where, seconds, counts.images(), Optional.of(counts));
    }
  }
}

package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.kernels.quant.OutputFidelity;
import java.util.Map;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.output.PredictionsTable;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.ModelOutputs;
import io.qspark.job.spark.PredictionJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.SegmentationJob;
import io.qspark.kernels.model.Model;
import java.util.Locale;
import java.util.Optional;

/**
 * Scores a model on images as a Spark job: a float classifier on labelled images, or a
 * calibration folder's fake-quantized model (for a classifier top-1 and its agreement with the
 * float model; for any model every output's SQNR, cosine and largest difference against the
 * float model, from calibration's error pass), the folder's recorded
 * preprocessing applied unless given, its outputs against another float model when given
 * (--reference: the model finetune or qat started from); optionally each image's outputs as a table. Models and
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
    Models.Read read = Models.anyModel(s.model(), () -> ImageInputs.dataImage(s.data(), s.preprocess()), notices);
    Model m = read.model();
    ModelSignature sig = ModelSignature.of(m);
    ModelIo io = ModelIo.of(sig, m.graph().batchChunk(), m.source());
    boolean quantized = read.folder() != null;
    if (!io.classifier() && !quantized && s.metric() == null) {
      throw new UserError("evaluate scores a float model by top-1, which needs class scores [N, classes]; " + m.source()
          + " has outputs " + sig.describe().replaceFirst("^.* -> ", "") + ". Give a calibration folder (--model DIR) to"
          + " compare its quantized outputs with the float model's, or score a segmenter with --metric miou --labels MASKS");
    }
    Models.Read referenceModel = null;
    if (s.reference() != null) {
      if (!quantized) {
        throw new UserError("--reference compares a calibration folder's quantized outputs with another float model; "
            + m.source() + " is a float model");
      }
      referenceModel = Models.floatModel(s.reference());
      String want = sig.describe(), got = ModelSignature.of(referenceModel.model().forInference()).describe();
      if (!want.equals(got)) {
        throw new UserError("--reference " + referenceModel.fileName() + " has " + got + "; the quantized model has " + want);
      }
    }
    io.qspark.job.output.RunInputs inputs = s.model().inputs().and(s.data().inputs());
    if (s.reference() != null) inputs = inputs.and(s.reference().inputs());
    if (s.metric() != null) inputs = inputs.with("--labels", s.metric().masks());
    try (PredictionsTable.Writer predictions = s.predictions() == null ? null
            : PredictionsTable.create(s.predictions().location(), s.predictions().overwrite(), inputs);
        LazySpark spark = new LazySpark("qspark evaluate", s.spark())) {
      ImageInputs in = ImageInputs.open(s.data(), s.preprocess(),
          quantized ? read.folder().preprocessing().orElse(null) : null,
          quantized ? read.folder().shown() : null, spark, sig, io, s.batch());
      if (io.classifier() && s.metric() == null) in.images.requireLabels(io.classes());
      SegmentationJob.Target target = s.metric() == null ? null : Segmentation.target(s.metric(), sig, in.images);
      s.spark().requireFits(in.images.count());
      int partitions = in.partitions(s.spark(), spark);
      in.warnIfUnnormalized(spark, notices);
      long t0 = System.nanoTime();
      EvalCounts counts = io.classifier() && s.metric() == null
          ? EvaluationJob.run(spark.runtime().context(), in.images, read.blob(), in.plan, partitions) : null;
      double seconds = (System.nanoTime() - t0) / 1e9;
      // the quantized model's outputs against the float model's: calibration's error pass
      Map<String, OutputFidelity.Figures> outputs = quantized
          ? CalibrationJob.error(spark.runtime().context(), in.images, read.blob(), referenceModel == null ? null : referenceModel.blob(),
              in.plan, partitions).outputs().figures()
          : Map.of();
      if (counts == null) seconds = (System.nanoTime() - t0) / 1e9;
      // before anything is written: a bad mask stops the run with nothing in place
      Segmentation miou = target == null ? null
          : Segmentation.run(spark.runtime().context(), in.images, new ModelOutputs.Spec(ModelOutputs.Mode.FLOAT, read.blob(), null),
              quantized ? new ModelOutputs.Spec(ModelOutputs.Mode.FAKEQUANT, read.blob(), null) : null, in.plan, partitions,
              target);
      if (counts == null && !quantized) seconds = (System.nanoTime() - t0) / 1e9;
      // a second pass, after the figures' timing: the outputs of every image, written as a table
      if (predictions != null) {
        ModelOutputs.Spec spec = new ModelOutputs.Spec(quantized ? ModelOutputs.Mode.FAKEQUANT : ModelOutputs.Mode.FLOAT,
            read.blob(), null);
        ModelOutputs.Spec reference = quantized ? new ModelOutputs.Spec(ModelOutputs.Mode.FLOAT, read.blob(), null) : null;
        predictions.commit(PredictionJob.table(spark.get(), in.images, spec, reference, in.plan, partitions,
            sig.outputs().stream().map(ModelSignature.Port::name).toList()));
      }
      String where = String.format(Locale.ROOT, "%s, %d partitions, batch %d", spark.runtime().master(), partitions,
          in.plan.batch());
      String what = m.source() + " (" + m.format() + ", sha256 " + m.sha256().substring(0, 12) + ")"
          + (quantized ? ", quantized with " + read.folder().quantInfoShown() : "")
          + (referenceModel == null ? "" : ", outputs against " + referenceModel.fileName() + " (sha256 "
              + referenceModel.blob().sha256().substring(0, 12) + ")");
      return new EvaluateResult(what, in.images.describe(), in.steps(), where, seconds, in.images.count(),
          Optional.ofNullable(counts), outputs, Optional.ofNullable(miou));
    }
  }
}

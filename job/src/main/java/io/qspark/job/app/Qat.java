package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.eval.ModelIo;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.model.EditedModel;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.data.HadoopFiles;
import io.qspark.job.output.QatCheckpoints;
import io.qspark.job.output.RunInputs;
import io.qspark.job.output.QatFolder;
import io.qspark.job.report.ActivationHistograms;
import io.qspark.job.report.TrainHistory;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.QatJob;
import io.qspark.job.spark.QatLossSpec;
import io.qspark.job.spark.DistillationJob;
import io.qspark.kernels.quant.OutputFidelity;
import io.qspark.job.spark.QatProgress;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.QdqExport;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.train.EpochOrder;
import io.qspark.kernels.train.LrSchedule;
import io.qspark.kernels.train.QatGradient;
import io.qspark.kernels.train.QatState;
import io.qspark.kernels.train.QatTrainer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quantization-aware training: calibration as {@link Calibrate} does it (one pass, the same
 * images, preprocessing and partitioning rule), then training of the float model with
 * fake-quant at the deployed model's quantization points as a synchronous data-parallel Spark
 * job, checkpointed and resumable; writes a calibration folder (deploy and evaluate take it) with
 * the training history.
 */
public final class Qat {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.progress");

  private final Notices notices;

  public Qat() {
    this(Notices.LOG);
  }

  public Qat(Notices notices) {
    this.notices = notices;
  }

  public QatResult run(QatSettings qs) {
    CalibrateSettings s = qs.calibration();
    QatSettings.Training tr = qs.training();
    QatSettings.Optimization op = qs.optimization();
    long t0 = System.nanoTime();
    Models.Read read = Models.floatModel(s.model(), () -> ImageInputs.dataImage(s.data(), s.preprocess()), notices);
    Model inference = read.model().forInference();
    ModelSignature sig = ModelSignature.of(inference);
    ModelIo classifier = ModelIo.of(sig, inference.graph().batchChunk(), inference.source());
    // a classifier with labels trains on them (mixed with distillation by the weight); any other
    // model, or a classifier at weight 1, by distillation from the float model alone
    double weight = classifier.classifier() ? qs.distillWeight() : 1;
    boolean labels = weight < 1;
    if (weight == 0) classifier.only("qat");
    String name = read.fileName();
    QuantConfig cfg = s.quant();
    // the folder appears whole at the end or not at all; checkpoints live beside it meanwhile
    RunInputs inputs = s.inputs().and(qs.validation() == null ? RunInputs.none()
        : qs.validation().inputs("--val-data", "--val-labels"));
    try (QatFolder.Writer out = QatFolder.create(s.requireOut().location(), s.out().overwrite(), inputs);
        Started started = Started.start(qs, out, inputs, read, notices)) {
      QatCheckpoints checkpoints = started.checkpoints();
      CalibrationRun run = started.run();
      ImageInputs train = ImageInputs.open(s.data(), s.preprocess(), null, null, run.spark, sig, classifier, s.batch());
      if (train.images.count() == 0) throw new UserError("no training images in " + s.data().location());
      if (labels) requireLabels(train, classifier);
      s.spark().requireFits(train.images.count());
      ImageInputs val = null;
      if (qs.validation() != null) {
        val = ImageInputs.open(qs.validation(), s.preprocess(), null, null, run.spark, sig, classifier, s.batch());
        if (classifier.classifier()) val.images.requireLabels(classifier.classes());
      }
      var sc = run.sc();
      EpochOrder order;
      try {
        order = new EpochOrder(train.images.count(), tr.batchSize(), tr.microBatch(), tr.seed());
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
      // training has its own rule: micro-batch j of every step on partition j mod P
      int partitions = s.spark().partitions() > 0 ? s.spark().partitions()
          : Math.min(sc.defaultParallelism(), order.microBatchesPerStep());
      int valPartitions = val == null ? 0 : val.partitions(s.spark().capped(val.images.count()), run.spark);

      // calibration, as calibrate's one-pass path: the fix_points QAT starts from
      ModelBlob floatBlob = read.blob();
      CalibrationRun.Calibrated cal = run.calibrate(inference, floatBlob, "qat: calibration");
      ActivationStats stats = cal.stats();
      QuantParams params = cal.params();
      String info = QuantInfo.write(name, floatBlob.sha256(), cfg, cal.plan(), params, stats, inference.graph());
      ModelBlob qblob = floatBlob.quantized(info);
      // distillation's per-output variances: the float outputs' over the calibration images, merged exactly
      QatLossSpec loss = QatLossSpec.labels();
      if (weight > 0) {
        Map<String, Double> variances = DistillationJob.moments(sc, run.inputs.images, floatBlob, run.inputs.plan,
            run.partitions).variances();
        variances.forEach((o, v) -> {
          if (!(v > 0) || v.isInfinite()) {
            throw new UserError("output '" + o + "' of " + inference.source() + " has variance " + v + " over the "
                + run.inputs.images.count() + " calibration images; a constant output cannot be distilled");
          }
        });
        loss = QatLossSpec.of(weight, variances);
      }
      double calibSeconds = (System.nanoTime() - t0) / 1e9;

      long total = order.stepsPerEpoch() * tr.epochs();
      long freeze = tr.freezeBnStep() >= 0 ? tr.freezeBnStep() : Math.round(total * 0.8);
      QatTrainer.Settings ts = new QatTrainer.Settings(op.optimizer().key, op.momentum(), op.weightDecay(),
          new LrSchedule(op.schedule(), op.lr(), op.warmupSteps(), total, op.lrStepSize(), op.lrGamma()), freeze,
          tr.bnMomentum(), qs.thresholds().learn(), qs.thresholds().lrScale());
      // what a checkpoint must match to be resumed (Java's text of the settings: the checkpoint format's)
      String identity = String.format(Locale.ROOT, "model sha256 %s, %d images, batch %d/%d, seed %d, %s, %s",
          floatBlob.sha256().substring(0, 12), train.images.count(), tr.batchSize(), tr.microBatch(), tr.seed(), cfg, ts)
          + (loss.distills() ? ", loss " + loss.describe() : "");
      if (qs.checkpoints().resume()) checkpoints.requireRun(identity);
      QatTrainer trainer;
      QatCheckpoints.Loaded saved = qs.checkpoints().resume() ? checkpoints.latest() : null;
      if (qs.checkpoints().resume() && saved == null) {
        notices.warning("--resume but no checkpoint in " + checkpoints.where() + "; starting from step 0");
      } else if (saved != null && saved.warning() != null) {
        notices.warning(saved.warning());
      }
      try {
        trainer = saved == null ? QatTrainer.start(QatJob.worker(qblob), ts, identity)
            : QatTrainer.resume(QatJob.worker(qblob), ts, QatState.fromBytes(saved.state(), checkpoints.where()), identity);
      } catch (IllegalArgumentException e) {
        throw new UserError("cannot resume: " + e.getMessage(), e);
      }
      QatJob.requireStepFitsDriver(sc, trainer.weights(), order.microBatchesPerStep());
      byte[] savedHistory = saved == null ? null : saved.history();
      TrainHistory history = savedHistory == null ? new TrainHistory()
          : TrainHistory.parse(new String(savedHistory, StandardCharsets.UTF_8));
      if (saved != null) LOG.info("qat: resuming at step " + trainer.step() + " from " + checkpoints.where());

      Map<String, Object> ptq = new LinkedHashMap<>();
      boolean classifies = classifier.classifier();
      if (val != null && classifies && trainer.step() == 0) {
        double top1 = top1(sc, val, qblob, valPartitions);
        ptq.put("ptq_top1", round(top1));
        LOG.info(String.format(Locale.ROOT, "qat: after calibration (PTQ): validation top-1 %.2f%%", top1));
      }
      // distilling, the outputs against float: the calibrated model's before training, the trained one's after
      ImageInputs fidelityImages = val != null ? val : run.inputs;
      int fidelityPartitions = val != null ? valPartitions : run.partitions;
      if (loss.distills() && trainer.step() == 0) {
        OutputFidelity f = DistillationJob.fidelity(sc, fidelityImages.images, floatBlob, qblob, fidelityImages.plan,
            fidelityPartitions, "qat: calibrated outputs against float");
        ptq.put("ptq_outputs_against_float", f.json());
        f.figures().forEach((o, x) -> LOG.info(String.format(Locale.ROOT, "qat: after calibration (PTQ): output %s SQNR %s", o, x.sqnrShown())));
      }
      QatProgress progress = new QatProgress(order.stepsPerEpoch(), total, qs.logEvery(), classifier.classifier() && labels,
          r -> history.step(r.epoch(), r.step(), r.lr(), r.loss(), r.trainTop1(), r.imagesPerSecond()));
      ImageInputs valInputs = classifies ? val : null;
      double[] epochLoss = {0, 0};
      long tTrain = System.nanoTime();
      long startStep = trainer.step();
      int every = qs.checkpoints().every();
      QatJob.run(sc, train.images.images(sc, partitions), qblob, train.plan, loss, order, tr.epochs(), partitions, trainer,
          new QatJob.Hooks() {
            @Override
            public void afterStep(QatTrainer t, QatGradient.Total step) {
              epochLoss[0] += step.loss();
              epochLoss[1]++;
              progress.step(t.step(), step, ts.schedule().at(t.step() - 1));
              if (t.step() % every == 0) checkpoint(checkpoints, t, history, identity);
            }

            @Override
            public void afterEpoch(QatTrainer t, int epoch) {
              Double top1 = null;
              if (valInputs != null) {
                top1 = top1(sc, valInputs, exported(t, name, cfg, stats).blob(), valPartitions);
                LOG.info(String.format(Locale.ROOT, "qat: epoch %d: validation top-1 %.2f%%", epoch + 1, top1));
              }
              history.epoch(epoch + 1, t.step(), epochLoss[1] > 0 ? epochLoss[0] / epochLoss[1] : null, top1);
              checkpoint(checkpoints, t, history, identity);
              epochLoss[0] = 0;
              epochLoss[1] = 0;
            }
          });
      double trainSeconds = (System.nanoTime() - tTrain) / 1e9;
      long stepsRun = trainer.step() - startStep;
      double rate = stepsRun * tr.batchSize() / Math.max(1e-9, trainSeconds);
      Exported ex = exported(trainer, name, cfg, stats);
      OutputFidelity outputs = !loss.distills() ? new OutputFidelity()
          : DistillationJob.fidelity(sc, fidelityImages.images, floatBlob, ex.blob(), fidelityImages.plan, fidelityPartitions,
              "qat: trained outputs against float");
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("command", "qat");
      report.put("model", name);
      report.put("data", train.images.describe());
      report.put("config", QuantInfo.config(cfg));
      report.put("training", qs.trainingJson());
      report.put("epochs", tr.epochs());
      report.put("steps", trainer.step());
      report.put("partitions", partitions);
      Map<String, Object> parts = new LinkedHashMap<>();
      parts.put("calibration", run.partitions);
      parts.put("training", partitions);
      if (val != null) parts.put("validation", valPartitions);
      report.put("pass_partitions", parts);
      report.put("master", run.spark.runtime().master());
      report.put("loss", loss.describe());
      if (loss.distills()) {
        report.put("distill_weight", loss.distillWeight());
        report.put("output_variances", new LinkedHashMap<String, Object>(loss.variances()));
        report.put("outputs_images", fidelityImages.images.describe());
        report.put("outputs_against_float", outputs.json());
      }
      report.putAll(ptq);
      report.put("history", history.epochs());
      report.put("curve", history.rows());
      // the calibration QAT started from, as calibrate's page draws it
      report.put("activation_histograms", ActivationHistograms.of(cal.plan(), stats.histograms(), cal.params()));
      if (qs.thresholds().learn()) report.put("learned_fix_points", learnedFixPoints(params, trainer.quantizers()));
      report.put("calibration_seconds", round(calibSeconds));
      report.put("training_seconds", round(trainSeconds));
      report.put("training_images_per_second", round(rate));
      report.put("preprocessing", train.record.json());
      report.put("provenance", run.provenance(name, qs.json()).json());
      String shown = out.shown();
      out.commit(new CalibrationFolder.Contents(ex.info(), ex.blob().onnx(),
          QdqExport.export(new QuantizedModel(ex.model().graph(), ex.plan(), ex.params()), ex.model().graph(), 13).toByteArray(),
          train.record, "qat", Json.write(report), "qspark qat: " + name), history);
      // the folder is complete: the default checkpoints were only there to get it written
      if (qs.checkpoints().dir() == null) checkpoints.delete();
      List<Map<String, Object>> done = history.epochs();
      Object last = done.isEmpty() ? null : done.get(done.size() - 1).get("val_top1");
      return new QatResult(shown, trainer.step(), tr.epochs(), order.stepsPerEpoch(), trainSeconds, rate, history,
          last == null ? OptionalDouble.empty() : OptionalDouble.of(((Number) last).doubleValue()), loss.describe(), outputs.figures());
    }
  }

  /** A classifier's labels, or what to do without them. */
  private static void requireLabels(ImageInputs train, ModelIo classifier) {
    try {
      train.images.requireLabels(classifier.classes());
    } catch (UserError e) {
      throw new UserError(e.getMessage() + "; or train without labels, by distillation from the float model: --distill-weight 1", e);
    }
  }

  /** The checkpoint folder, checked before any data is read, and the calibration run. */
  private record Started(QatCheckpoints checkpoints, CalibrationRun run) implements AutoCloseable {
    static Started start(QatSettings qs, QatFolder.Writer out, RunInputs inputs, Models.Read read, Notices notices) {
      CalibrateSettings s = qs.calibration();
      // checkpoints neither on an input nor on --out, in a folder that is qspark's (or new)
      String where = qs.checkpoints().dir() != null ? qs.checkpoints().dir() : out.defaultCheckpoints();
      inputs.with("--out", s.out().location())
          .checkOutput(qs.checkpoints().dir() != null ? "--checkpoint-dir" : "the checkpoint folder", where);
      QatCheckpoints checkpoints = QatCheckpoints.open(where, HadoopFiles.driverConfiguration());
      if (!qs.checkpoints().resume() && checkpoints.any()) {
        if (!s.out().overwrite()) {
          throw new UserError("checkpoints of an earlier run are in " + checkpoints.where() + "; pass --resume to continue it"
              + " or --overwrite to start again");
        }
        checkpoints.clear();
      }
      return new Started(checkpoints, CalibrationRun.open("qspark qat", s, read, notices, true));
    }

    @Override
    public void close() {
      run.close();
    }
  }

  private static void checkpoint(QatCheckpoints checkpoints, QatTrainer t, TrainHistory history, String identity) {
    checkpoints.write(t.step(), t.state().toBytes(), history.json().getBytes(StandardCharsets.UTF_8), identity);
  }

  /** Per activation point whose fix_point training moved: calibrated and learned. */
  private static Map<String, Object> learnedFixPoints(QuantParams calibrated, QuantParams learned) {
    Map<String, Object> r = new LinkedHashMap<>();
    calibrated.activations().forEach((p, q) -> {
      int now = learned.activation(p).fixPoint();
      if (now != q.fixPoint()) r.put(p, List.of(q.fixPoint(), now));
    });
    return r;
  }

  /** The trained model as the output folder holds it: inference graph, its plan, quant_info.json, and as a blob. */
  private record Exported(Model model, QuantPlan plan, QuantParams params, String info, ModelBlob blob) {}

  /** With learned thresholds, the fix_points are those of the last step (fix_point = b - 1 - ceil(log_t), legalised). */
  private static Exported exported(QatTrainer t, String name, QuantConfig cfg, ActivationStats stats) {
    EditedModel e = EditedModel.of(t.inference(), name);
    QuantPlan plan = QuantPlan.of(e.model().graph(), cfg);
    QuantParams params = t.quantizers();
    String info = QuantInfo.write(name, e.blob().sha256(), cfg, plan, params, stats, e.model().graph());
    return new Exported(e.model(), plan, params, info, e.blob().quantized(info));
  }

  private static double top1(org.apache.spark.api.java.JavaSparkContext sc, ImageInputs val, ModelBlob qblob, int partitions) {
    EvalCounts c = EvaluationJob.run(sc, val.images, qblob, val.plan, partitions);
    return c.top1Percent();
  }

  private static double round(double x) {
    return Math.round(x * 100) / 100.0;
  }
}

package io.qspark.job.cli;

import io.qspark.job.UserError;
import io.qspark.job.data.DataRequest;
import io.qspark.job.data.DataSource;
import io.qspark.job.data.DataSources;
import io.qspark.job.eval.Classifier;
import io.qspark.job.eval.EvalCounts;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.job.output.AtomicFolder;
import io.qspark.job.output.QatCheckpoints;
import io.qspark.job.output.RunInputs;
import io.qspark.job.data.HadoopFiles;
import io.qspark.job.spark.CalibrationJob;
import io.qspark.job.spark.EvaluationJob;
import io.qspark.job.spark.LazySpark;
import io.qspark.job.spark.ModelBlob;
import io.qspark.job.spark.QatJob;
import io.qspark.job.spark.QatProgress;
import io.qspark.job.spark.SparkRuntime;
import io.qspark.job.spark.SparkSettings;
import io.qspark.job.report.TrainHistory;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QdqExport;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.train.EpochOrder;
import io.qspark.kernels.train.LrSchedule;
import io.qspark.kernels.train.QatGradient;
import io.qspark.kernels.train.QatState;
import io.qspark.kernels.train.QatTrainer;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `qspark qat`: calibration (as calibrate), then quantization-aware training of the float model
 * at those fix_points as a data-parallel Spark job, checkpointed and resumable; writes the same
 * files as calibrate, so deploy and evaluate take the folder.
 */
@Command(name = "qat", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Quantization-aware training: calibrates on the first --calib-size images of --data as calibrate"
        + " does, then trains the model with fake-quant at the deployed model's quantization points (fix_points"
        + " fixed, or learned with --learn-thresholds; straight-through estimator clipped at the range) on every labelled image of --data, for --epochs,"
        + " synchronous data-parallel: each step's --batch-size images are cut into --micro-batch parts spread over"
        + " the partitions, their gradients summed on the driver in a fixed order. BatchNorm trains on batch"
        + " statistics (per micro-batch), with the conv weights folded at its running statistics, until"
        + " --freeze-bn-step, then it is folded into the convs for the rest of training.",
        "Checkpoints go to --checkpoint-dir (default: a folder OUT.checkpoints beside --out, deleted once --out is"
            + " written) every --checkpoint-every steps and at each epoch's end; --resume continues from the newest and"
            + " ends with the same model as an uninterrupted run.",
        "Writes --out atomically, on any Hadoop file system, as calibrate does (quant_info.json, float_model.onnx: the"
            + " trained inference graph, quantize_eval_model.onnx, report.json with the loss and validation top-1 per"
            + " epoch) plus train_history.csv and train_history.json (per logged step: epoch, step, lr, loss, train"
            + " top-1, images/s; validation top-1 on each epoch's last row)."})
final class QatCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.progress");
  /** The default checkpoint folder: --out's name with this suffix, beside it. */
  static final String CHECKPOINTS = ".checkpoints";

  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;
  @Mixin QuantOptions quant;

  @Option(names = "--epochs", paramLabel = "E", defaultValue = "1", order = 60, description = "Passes over --data. Default: ${DEFAULT-VALUE}.")
  int epochs;

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "128", order = 61,
      description = "Global batch: images per optimizer step, summed over all partitions. Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--micro-batch", paramLabel = "N", defaultValue = "32", order = 62,
      description = "Images per gradient part and per BatchNorm batch statistic; parts are spread over the partitions,"
          + " so the model does not depend on their number. Default: ${DEFAULT-VALUE}.")
  int microBatch;

  @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.001", order = 63, description = "Learning rate. Default: ${DEFAULT-VALUE}.")
  double lr;

  @Option(names = "--optimizer", paramLabel = "O", defaultValue = "sgd", order = 64,
      description = "sgd (with --momentum) or adam (PyTorch's defaults). Default: ${DEFAULT-VALUE}.")
  String optimizer;

  @Option(names = "--momentum", paramLabel = "M", defaultValue = "0.9", order = 65, description = "SGD momentum. Default: ${DEFAULT-VALUE}.")
  double momentum;

  @Option(names = "--weight-decay", paramLabel = "WD", defaultValue = "0", order = 66,
      description = "L2 weight decay added to the gradient (PyTorch's weight_decay). Default: ${DEFAULT-VALUE}.")
  double weightDecay;

  @Option(names = "--schedule", paramLabel = "S", defaultValue = "cosine", order = 67,
      description = "Learning-rate schedule after the warm-up: constant, cosine (to 0 at the last step) or step"
          + " (times --lr-gamma every --lr-step-size steps). Default: ${DEFAULT-VALUE}.")
  String schedule;

  @Option(names = "--warmup-steps", paramLabel = "N", defaultValue = "0", order = 68,
      description = "Linear warm-up from lr/N to lr over the first N steps. Default: ${DEFAULT-VALUE}.")
  int warmupSteps;

  @Option(names = "--lr-step-size", paramLabel = "N", defaultValue = "1000", order = 69, description = "For --schedule step. Default: ${DEFAULT-VALUE}.")
  long lrStepSize;

  @Option(names = "--lr-gamma", paramLabel = "G", defaultValue = "0.1", order = 70, description = "For --schedule step. Default: ${DEFAULT-VALUE}.")
  double lrGamma;

  @Option(names = "--freeze-bn-step", paramLabel = "S", defaultValue = "-1", order = 71,
      description = "Step from which BatchNorm uses its running statistics, folded into the convs (0: from the start)."
          + " Default: after 80%% of the steps.")
  long freezeBnStep;

  @Option(names = "--bn-momentum", paramLabel = "M", defaultValue = "0.1", order = 72,
      description = "Running statistics: (1 - M) running + M batch, per step with the mean of its micro-batches'. Default: ${DEFAULT-VALUE}.")
  double bnMomentum;

  @Option(names = "--seed", paramLabel = "S", defaultValue = "0", order = 73, description = "Seed of the per-epoch shuffle. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "200", order = 74,
      description = "Steps between checkpoints (one is also written at each epoch's end). Default: ${DEFAULT-VALUE}.")
  int checkpointEvery;

  @Option(names = "--checkpoint-dir", paramLabel = "URI", order = 75,
      description = "Where checkpoints go, on any Hadoop file system (hdfs://...); kept after the run."
          + " Default: OUT.checkpoints beside --out, deleted once --out is in place.")
  String checkpointDir;

  @Option(names = "--resume", order = 76, description = "Continue from the newest checkpoint (same model, data and settings).")
  boolean resume;

  @Option(names = "--val-data", paramLabel = "DATA", order = 77,
      description = "Labelled images for top-1 after calibration and after each epoch (distributed, fake-quant model)."
          + " Default: none.")
  String valData;

  @Option(names = "--val-labels", paramLabel = "LABELS", order = 78, description = "IDX labels of --val-data. Default: beside it.")
  String valLabels;

  @Option(names = "--log-every", paramLabel = "N", defaultValue = "20", order = 79, description = "Steps between progress lines. Default: ${DEFAULT-VALUE}.")
  int logEvery;

  @Option(names = "--learn-thresholds", order = 80,
      description = "TQT (Jain et al. 2019): every activation point but the input learns a log2 threshold log_t,"
          + " starting at b - 1 - fix_point of the calibration, with fix_point = b - 1 - ceil(log_t) in every step"
          + " (legalised as calibrate does) and in the output. Weights and biases keep their own fix_points."
          + " Default: off, the calibration's fix_points stay.")
  boolean learnThresholds;

  @Option(names = "--threshold-lr-scale", paramLabel = "X", defaultValue = "1", order = 81,
      description = "The thresholds' learning rate as a multiple of --lr (same --optimizer, no weight decay; TQT's"
          + " paper trains them with adam). Default: ${DEFAULT-VALUE}.")
  double thresholdLrScale;

  @Mixin SparkOptions spark;

  private void check() {
    quant.check();
    QuantConfig cfg = quant.config();
    List<String> bad = new ArrayList<>();
    if (!cfg.dpuStyle()) bad.add("--weight-granularity/--scales: QAT trains per-tensor power-of-two (DPU) quantizers only");
    if (quant.sequential) bad.add("--sequential: QAT calibrates in one pass");
    if (epochs < 1) bad.add("--epochs must be at least 1, got " + epochs);
    if (batchSize < 1) bad.add("--batch-size must be at least 1, got " + batchSize);
    if (microBatch < 1 || microBatch > batchSize) bad.add("--micro-batch must be 1.." + batchSize + ", got " + microBatch);
    if (!(lr > 0)) bad.add("--lr must be positive, got " + lr);
    if (!optimizer.equals("sgd") && !optimizer.equals("adam")) bad.add("--optimizer must be sgd or adam, got '" + optimizer + "'");
    if (weightDecay < 0) bad.add("--weight-decay must be at least 0, got " + weightDecay);
    try {
      LrSchedule.parse(schedule);
    } catch (IllegalArgumentException e) {
      bad.add("--schedule: " + e.getMessage());
    }
    if (warmupSteps < 0) bad.add("--warmup-steps must be at least 0, got " + warmupSteps);
    if (!(bnMomentum >= 0 && bnMomentum <= 1)) bad.add("--bn-momentum must be in [0, 1], got " + bnMomentum);
    if (checkpointEvery < 1) bad.add("--checkpoint-every must be at least 1, got " + checkpointEvery);
    if (!(thresholdLrScale > 0)) bad.add("--threshold-lr-scale must be positive, got " + thresholdLrScale);
    if (logEvery < 1) bad.add("--log-every must be at least 1, got " + logEvery);
    if (!bad.isEmpty()) throw new ParameterException(spec.commandLine(), String.join("; ", bad));
    preprocess.preprocessing();
    spark.settings();
    data.request(preprocess.dims(), preprocess.geometry());
    AtomicFolder.check(quant.out, quant.overwrite, model.inputs().and(data.inputs()).with("--val-data", valData)
        .with("--val-labels", valLabels));
  }

  @Override
  public Integer call() {
    check();
    long t0 = System.nanoTime();
    if (model.quantInfo() != null) throw new UserError("--model is already a calibration folder; give the float model");
    Model floatModel = model.load();
    Model inference = floatModel.forInference();
    Classifier classifier = Classifier.of(inference);
    String name = model.path().getFileName().toString();
    QuantConfig cfg = quant.config();
    QuantPlan.of(inference.graph(), cfg); // layer rules that match no node fail before Spark starts
    SparkSettings settings = spark.settings();
    DataRequest asked = data.request(preprocess.dims(), preprocess.geometry());
    PrintWriter err = spec.commandLine().getErr();
    RunInputs inputs = model.inputs().and(data.inputs()).with("--val-data", valData).with("--val-labels", valLabels);
    // the folder appears whole at the end or not at all; checkpoints live beside it meanwhile
    try (AtomicFolder folder = AtomicFolder.create(quant.out, quant.overwrite, inputs);
        LazySpark lazy = new LazySpark("qspark qat", settings)) {
      // checkpoints neither on an input nor on --out, in a folder that is qspark's (or new)
      String where = checkpointDir != null ? checkpointDir : folder.sibling(CHECKPOINTS);
      inputs.with("--out", quant.out).checkOutput(checkpointDir != null ? "--checkpoint-dir" : "the checkpoint folder", where);
      QatCheckpoints checkpoints = QatCheckpoints.open(where, HadoopFiles.driverConfiguration());
      if (!resume && checkpoints.any()) {
        if (!quant.overwrite) {
          throw new UserError("checkpoints of an earlier run are in " + checkpoints.where() + "; pass --resume to continue it"
              + " or --overwrite to start again");
        }
        checkpoints.clear();
      }
      DataSource train = DataSources.open(asked, lazy, classifier);
      if (train.count() == 0) throw new UserError("no training images in " + asked.data());
      train.requireLabels(classifier.classes());
      ScoringPlan plan = preprocess.scoringPlan(train, asked.data(), classifier, quant.batch);
      DataSource val = null;
      if (valData != null) {
        val = DataSources.open(new DataRequest(valData, valLabels, -1, asked.dims(), asked.geometry(), asked.imageColumn(),
            asked.labelColumn(), asked.strict()), lazy, classifier);
        val.requireLabels(classifier.classes());
      }
      DataSource calib = DataSources.open(new DataRequest(asked.data(), asked.labels(), (int) Math.min(quant.calibSize,
          asked.limit() < 0 ? Long.MAX_VALUE : asked.limit()), asked.dims(), asked.geometry(), asked.imageColumn(),
          asked.labelColumn(), asked.strict()), lazy, classifier);
      settings.requireFits(train.count()); // before Spark starts
      SparkRuntime runtime = lazy.runtime();
      var sc = runtime.context();
      EpochOrder order;
      try {
        order = new EpochOrder(train.count(), batchSize, microBatch, seed);
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
      int partitions = settings.partitions() > 0 ? settings.partitions() : Math.min(sc.defaultParallelism(), order.microBatchesPerStep());
      ModelBlob floatBlob = model.blob();
      long total = order.stepsPerEpoch() * epochs;
      long freeze = freezeBnStep >= 0 ? freezeBnStep : Math.round(total * 0.8);
      QatTrainer.Settings ts = new QatTrainer.Settings(optimizer, momentum, weightDecay,
          new LrSchedule(LrSchedule.parse(schedule), lr, warmupSteps, total, lrStepSize, lrGamma), freeze, bnMomentum,
          learnThresholds, thresholdLrScale);
      String identity = String.format(Locale.ROOT, "model sha256 %s, %d images, batch %d/%d, seed %d, %s, %s",
          floatBlob.sha256().substring(0, 12), train.count(), batchSize, microBatch, seed, cfg, ts);
      if (resume) checkpoints.requireRun(identity);

      // calibration, as calibrate's one-pass path: the fix_points QAT starts from
      int calibParts = settings.capped(calib.count()).partitionsFor(calib.count(), sc.defaultParallelism());
      ActivationStats stats = CalibrationJob.statistics(sc, calib, floatBlob, plan, cfg, calibParts);
      QuantPlan qplan = QuantPlan.of(inference.graph(), cfg);
      QuantParams params = QuantParams.decide(inference.graph(), qplan, stats.histograms(), cfg);
      String info = QuantInfo.write(name, floatBlob.sha256(), cfg, qplan, params, stats, inference.graph());
      ModelBlob qblob = floatBlob.quantized(info);
      double calibSeconds = (System.nanoTime() - t0) / 1e9;

      QatTrainer trainer;
      QatCheckpoints.Loaded saved = resume ? checkpoints.latest() : null;
      if (resume && saved == null) {
        err.println("qspark: warning: --resume but no checkpoint in " + checkpoints.where() + "; starting from step 0");
      } else if (saved != null && saved.warning() != null) {
        err.println("qspark: warning: " + saved.warning());
      }
      err.flush();
      try {
        trainer = saved == null ? QatTrainer.start(QatJob.worker(qblob), ts, identity)
            : QatTrainer.resume(QatJob.worker(qblob), ts, QatState.fromBytes(saved.state(), checkpoints.where()), identity);
      } catch (IllegalArgumentException e) {
        throw new UserError("cannot resume: " + e.getMessage(), e);
      }
      byte[] savedHistory = saved == null ? null : saved.history();
      TrainHistory history = savedHistory == null ? new TrainHistory()
          : TrainHistory.parse(new String(savedHistory, StandardCharsets.UTF_8));
      if (saved != null) LOG.info("qat: resuming at step " + trainer.step() + " from " + checkpoints.where());

      Map<String, Object> ptq = new LinkedHashMap<>();
      if (val != null && trainer.step() == 0) {
        double top1 = top1(sc, val, qblob, plan, settings);
        ptq.put("ptq_top1", round(top1));
        LOG.info(String.format(Locale.ROOT, "qat: after calibration (PTQ): validation top-1 %.2f%%", top1));
      }
      QatProgress progress = new QatProgress(order.stepsPerEpoch(), total, logEvery, history);
      DataSource valSource = val;
      double[] epochLoss = {0, 0};
      long tTrain = System.nanoTime();
      long startStep = trainer.step();
      QatJob.run(sc, train.images(sc, partitions), qblob, plan, order, epochs, partitions, trainer, new QatJob.Hooks() {
        @Override
        public void afterStep(QatTrainer t, QatGradient.Total step) {
          epochLoss[0] += step.loss();
          epochLoss[1]++;
          progress.step(t.step(), step, ts.schedule().at(t.step() - 1));
          if (t.step() % checkpointEvery == 0) checkpoint(checkpoints, t, history, identity);
        }

        @Override
        public void afterEpoch(QatTrainer t, int epoch) {
          Double top1 = null;
          if (valSource != null) {
            top1 = top1(sc, valSource, exported(t, name, cfg, stats).blob, plan, settings);
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
      Exported ex = exported(trainer, name, cfg, stats);
      Map<String, Object> report = new LinkedHashMap<>();
      report.put("command", "qat");
      report.put("model", name);
      report.put("data", train.describe());
      report.put("config", cfg.toString());
      report.put("training", ts.toString());
      report.put("epochs", epochs);
      report.put("steps", trainer.step());
      report.put("partitions", partitions);
      report.put("master", runtime.master());
      report.putAll(ptq);
      report.put("history", history.epochs());
      if (learnThresholds) report.put("learned_fix_points", learnedFixPoints(params, trainer.quantizers()));
      report.put("calibration_seconds", round(calibSeconds));
      report.put("training_seconds", round(trainSeconds));
      report.put("training_images_per_second", round(stepsRun * batchSize / Math.max(1e-9, trainSeconds)));
      folder.write("float_model.onnx", ex.blob.onnx());
      folder.write("quantize_eval_model.onnx", QdqExport.export(new QuantizedModel(ex.model.graph(), ex.plan, ex.params),
          ex.model.graph(), 13).toByteArray());
      folder.write("report.json", Json.write(report));
      folder.write("train_history.csv", history.csv());
      folder.write("train_history.json", history.json());
      folder.write("quant_info.json", ex.info);
      folder.commit();
      // the folder is complete: the default checkpoints were only there to get it written
      if (checkpointDir == null) checkpoints.delete();
      PrintWriter o = spec.commandLine().getOut();
      o.printf(Locale.ROOT, "qat: %d steps (%d epochs of %d), %.1f s training, %.0f images/s; wrote %s%n", trainer.step(), epochs,
          order.stepsPerEpoch(), trainSeconds, stepsRun * batchSize / Math.max(1e-9, trainSeconds), folder.shown());
      List<Map<String, Object>> done = history.epochs();
      if (!done.isEmpty() && done.get(done.size() - 1).get("val_top1") != null) {
        o.println("top1: " + String.format(Locale.ROOT, "%.2f", done.get(done.size() - 1).get("val_top1")));
      }
      o.flush();
    }
    return ExitCodes.OK;
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

  private static double top1(org.apache.spark.api.java.JavaSparkContext sc, DataSource val, ModelBlob qblob, ScoringPlan plan,
      SparkSettings settings) {
    EvalCounts c = EvaluationJob.run(sc, val, qblob, plan, settings.capped(val.count()).partitionsFor(val.count(),
        sc.defaultParallelism()));
    return c.top1Percent();
  }

  private static double round(double x) {
    return Math.round(x * 100) / 100.0;
  }

}

package io.qspark.job.cli;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.Qat;
import io.qspark.job.app.QatResult;
import io.qspark.job.app.QatSettings;
import io.qspark.job.report.OutputsTable;
import io.qspark.kernels.train.LrSchedule;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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
        + " fixed, or learned with --learn-thresholds; straight-through estimator clipped at the range) on every image of --data, for --epochs,"
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
            + " top-1, images/s; validation top-1 on each epoch's last row).",
        "A model without class scores, or --distill-weight 1, trains by distillation from the float model, without"
            + " labels; the summary and report.json then give every output's SQNR, cosine and largest difference against"
            + " the float model (on --val-data, else the calibration images) and end with a line `sqnr <output>: <dB>` each."})
final class QatCommand implements Callable<Integer> {

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

  @Option(names = "--distill-weight", paramLabel = "W", defaultValue = "0", order = 82,
      description = "Distillation from the float model: the loss is (1 - W) cross-entropy against the labels + W times"
          + " the mean squared error of every output against the float model's, each divided by that output's variance"
          + " over the calibration images. 0..1; at 1 no labels are read. A model without class scores [N, classes]"
          + " (detectors, segmenters, embeddings, several outputs) trains by distillation alone, whatever W."
          + " Default: ${DEFAULT-VALUE}.")
  double distillWeight;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    CalibrateSettings c = quant.settings(model, data, preprocess, spark);
    int[] dims = preprocess.dims();
    QatSettings s = Mapping.settings(spec, () -> new QatSettings(c,
        new QatSettings.Training(epochs, batchSize, microBatch, freezeBnStep, bnMomentum, seed),
        new QatSettings.Optimization(QatSettings.Optimizer.parse(optimizer), lr, momentum, weightDecay, schedule(), warmupSteps,
            lrStepSize, lrGamma),
        new QatSettings.Thresholds(learnThresholds, thresholdLrScale),
        new QatSettings.Checkpoints(checkpointEvery, checkpointDir, resume),
        valData == null ? null : data.settings(dims).at(valData, valLabels), logEvery, distillWeight));
    QatResult r = new Qat(Mapping.notices(spec)).run(s);
    PrintWriter o = spec.commandLine().getOut();
    o.printf(Locale.ROOT, "qat: %d steps (%d epochs of %d), %.1f s training, %.0f images/s; wrote %s%n", r.steps(), r.epochs(),
        r.stepsPerEpoch(), r.trainingSeconds(), r.imagesPerSecond(), r.folder());
    if (!r.outputs().isEmpty()) {
      o.println("loss: " + r.loss());
      OutputsTable.print(o, "trained (fake-quant)", r.outputs());
      OutputsTable.sqnrLines(o, r.outputs());
    }
    r.lastValidationTop1().ifPresent(t -> o.println("top1: " + String.format(Locale.ROOT, "%.2f", t)));
    o.flush();
    return ExitCodes.OK;
  }

  private LrSchedule.Kind schedule() {
    try {
      return LrSchedule.parse(schedule);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--schedule: " + e.getMessage());
    }
  }
}

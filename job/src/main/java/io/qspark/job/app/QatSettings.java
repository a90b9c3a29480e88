package io.qspark.job.app;

import io.qspark.kernels.train.LrSchedule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link Qat} does: calibrate as {@link Calibrate} would ({@code calibration}, one pass, DPU
 * quantizers), then train the model with fake-quant at those quantization points on every
 * labelled image of the calibration's data: how long and in what batches ({@link Training}), by
 * which optimizer and schedule ({@link Optimization}), with fixed or learned thresholds
 * ({@link Thresholds}), checkpointed ({@link Checkpoints}), validated on {@code validation}
 * after calibration and each epoch (null: no validation), a progress line every
 * {@code logEvery} steps. The loss: for a classifier (class scores [N, classes]) with labels,
 * softmax cross-entropy, mixed with distillation from the float model by {@code distillWeight}
 * ((1 − w) cross-entropy + w distillation; 1: distillation alone, no labels read); for any other
 * model distillation alone, whatever the weight.
 */
public record QatSettings(CalibrateSettings calibration, Training training, Optimization optimization, Thresholds thresholds,
    Checkpoints checkpoints, DataSettings validation, int logEvery, double distillWeight) {

  /**
   * @param freezeBnStep the step from which BatchNorm uses its running statistics, folded (-1: after 80% of the steps)
   * @param bnMomentum running statistics: (1 - M) running + M batch, per step
   * @param seed the per-epoch shuffle's seed
   */
  public record Training(int epochs, int batchSize, int microBatch, long freezeBnStep, double bnMomentum, long seed) {
    public Training {
      List<String> bad = new ArrayList<>();
      if (epochs < 1) bad.add("--epochs must be at least 1, got " + epochs);
      if (batchSize < 1) bad.add("--batch-size must be at least 1, got " + batchSize);
      if (microBatch < 1 || microBatch > batchSize) bad.add("--micro-batch must be 1.." + batchSize + ", got " + microBatch);
      if (!(bnMomentum >= 0 && bnMomentum <= 1)) bad.add("--bn-momentum must be in [0, 1], got " + bnMomentum);
      fail(bad);
    }

    /** One epoch in steps of 128 images, micro-batches of 32, BatchNorm frozen after 80% of the steps. */
    public static Training defaults() {
      return new Training(1, 128, 32, -1, 0.1, 0);
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("epochs", epochs);
      m.put("batch_size", batchSize);
      m.put("micro_batch", microBatch);
      m.put("freeze_bn_step", freezeBnStep < 0 ? null : freezeBnStep);
      m.put("bn_momentum", bnMomentum);
      m.put("seed", seed);
      return m;
    }
  }

  /** The optimizers QAT trains with (PyTorch's SGD with momentum, and Adam with its defaults). */
  public enum Optimizer {
    SGD("sgd"), ADAM("adam");

    public final String key;

    Optimizer(String key) {
      this.key = key;
    }

    public static Optimizer parse(String s) {
      for (Optimizer o : values()) if (o.key.equals(s)) return o;
      throw new IllegalArgumentException("--optimizer must be sgd or adam, got '" + s + "'");
    }
  }

  /**
   * @param warmupSteps linear warm-up from lr/N to lr over the first N steps
   * @param lrStepSize, lrGamma for {@link LrSchedule.Kind#STEP}: times gamma every stepSize steps
   */
  public record Optimization(Optimizer optimizer, double lr, double momentum, double weightDecay, LrSchedule.Kind schedule,
      int warmupSteps, long lrStepSize, double lrGamma) {
    public Optimization {
      List<String> bad = new ArrayList<>();
      if (optimizer == null) bad.add("--optimizer must be given");
      if (schedule == null) bad.add("--schedule must be given");
      if (!(lr > 0)) bad.add("--lr must be positive, got " + lr);
      if (weightDecay < 0) bad.add("--weight-decay must be at least 0, got " + weightDecay);
      if (warmupSteps < 0) bad.add("--warmup-steps must be at least 0, got " + warmupSteps);
      fail(bad);
    }

    /** SGD at 0.001 with momentum 0.9, no weight decay, cosine schedule without warm-up. */
    public static Optimization defaults() {
      return new Optimization(Optimizer.SGD, 0.001, 0.9, 0, LrSchedule.Kind.COSINE, 0, 1000, 0.1);
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("optimizer", optimizer.key);
      m.put("lr", lr);
      m.put("momentum", momentum);
      m.put("weight_decay", weightDecay);
      m.put("schedule", schedule.name().toLowerCase(Locale.ROOT));
      m.put("warmup_steps", warmupSteps);
      m.put("lr_step_size", lrStepSize);
      m.put("lr_gamma", lrGamma);
      return m;
    }
  }

  /**
   * TQT: every activation point but the input learns a log2 threshold ({@code learn}), at
   * {@code lrScale} times the learning rate; off, the calibration's fix_points stay.
   */
  public record Thresholds(boolean learn, double lrScale) {
    public Thresholds {
      if (!(lrScale > 0)) throw new IllegalArgumentException("--threshold-lr-scale must be positive, got " + lrScale);
    }

    public static Thresholds fixed() {
      return new Thresholds(false, 1);
    }
  }

  /**
   * @param every steps between checkpoints (one is also written at each epoch's end)
   * @param dir where checkpoints go, kept after the run; null: OUT.checkpoints beside the output, deleted once it is written
   * @param resume continue from the newest checkpoint
   */
  public record Checkpoints(int every, String dir, boolean resume) {
    public Checkpoints {
      if (every < 1) throw new IllegalArgumentException("--checkpoint-every must be at least 1, got " + every);
      if (dir != null && dir.isBlank()) throw new IllegalArgumentException("--checkpoint-dir is empty");
    }

    public static Checkpoints defaults() {
      return new Checkpoints(200, null, false);
    }
  }

  public QatSettings {
    if (calibration == null) throw new IllegalArgumentException("the calibration settings must be given");
    if (training == null) training = Training.defaults();
    if (optimization == null) optimization = Optimization.defaults();
    if (thresholds == null) thresholds = Thresholds.fixed();
    if (checkpoints == null) checkpoints = Checkpoints.defaults();
    List<String> bad = new ArrayList<>();
    if (!calibration.quant().dpuStyle()) {
      bad.add("--weight-granularity/--scales: QAT trains per-tensor power-of-two (DPU) quantizers only");
    }
    if (calibration.sequential()) bad.add("--sequential: QAT calibrates in one pass");
    if (logEvery < 1) bad.add("--log-every must be at least 1, got " + logEvery);
    if (!(distillWeight >= 0 && distillWeight <= 1)) bad.add("--distill-weight must be in [0, 1], got " + distillWeight);
    fail(bad);
  }

  /** Defaults for everything but the calibration, no validation, the label loss alone for classifiers. */
  public static QatSettings of(CalibrateSettings calibration) {
    return new QatSettings(calibration, Training.defaults(), Optimization.defaults(), Thresholds.fixed(), Checkpoints.defaults(),
        null, 20, 0);
  }

  /** Distillation weight 0: for classifiers the label loss alone. */
  public QatSettings(CalibrateSettings calibration, Training training, Optimization optimization, Thresholds thresholds,
      Checkpoints checkpoints, DataSettings validation, int logEvery) {
    this(calibration, training, optimization, thresholds, checkpoints, validation, logEvery, 0);
  }

  public QatSettings withTraining(Training t) {
    return new QatSettings(calibration, t, optimization, thresholds, checkpoints, validation, logEvery, distillWeight);
  }

  public QatSettings withValidation(DataSettings v) {
    return new QatSettings(calibration, training, optimization, thresholds, checkpoints, v, logEvery, distillWeight);
  }

  public QatSettings withCheckpoints(Checkpoints c) {
    return new QatSettings(calibration, training, optimization, thresholds, c, validation, logEvery, distillWeight);
  }

  public QatSettings withDistillWeight(double w) {
    return new QatSettings(calibration, training, optimization, thresholds, checkpoints, validation, logEvery, w);
  }

  /** The training settings as report.json records them. */
  public Map<String, Object> trainingJson() {
    Map<String, Object> m = new LinkedHashMap<>(training.json());
    m.putAll(optimization.json());
    m.put("learn_thresholds", thresholds.learn());
    m.put("threshold_lr_scale", thresholds.lrScale());
    m.put("distill_weight", distillWeight);
    return m;
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>(calibration.json());
    m.put("training", trainingJson());
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("checkpoint_every", checkpoints.every());
    c.put("checkpoint_dir", checkpoints.dir());
    c.put("resume", checkpoints.resume());
    m.put("checkpoints", c);
    m.put("validation", validation == null ? null : validation.json());
    m.put("log_every", logEvery);
    return m;
  }

  private static void fail(List<String> bad) {
    if (!bad.isEmpty()) throw new IllegalArgumentException(String.join("; ", bad));
  }
}

package io.qspark.job.ml;

import io.qspark.job.app.DataSettings;
import io.qspark.job.app.Notices;
import io.qspark.job.app.OutputSettings;
import io.qspark.job.app.Qat;
import io.qspark.job.app.QatSettings;
import io.qspark.job.data.ImageColumn;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.kernels.train.LrSchedule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Quantization-aware training as a Spark ML Estimator: {@link #fit} calibrates on the first
 * {@code calibSize} images of {@code imageCol}, then trains the model with fake-quant at those
 * quantization points on every row, labelled by {@code labelCol} (integer class indices), as
 * {@code qspark qat} does (synchronous data-parallel, the same bits for any partitioning),
 * through the application layer's {@link Qat} with these Params as its {@link QatSettings}. The
 * run's folder and checkpoints go to {@code workDir} (default: a temporary folder on the
 * driver, removed after the fit). The result is a {@link QuantizedModel} of the trained model.
 */
public final class QatQuantizer extends QuantizationEstimator<QatQuantizer> {
  private static final long serialVersionUID = 1L;

  private final Param<String> labelCol;
  private final IntParam epochs;
  private final IntParam trainBatchSize;
  private final IntParam microBatch;
  private final Param<String> optimizer;
  private final DoubleParam lr;
  private final DoubleParam momentum;
  private final DoubleParam weightDecay;
  private final Param<String> schedule;
  private final IntParam warmupSteps;
  private final LongParam seed;
  private final BooleanParam learnThresholds;
  private final DoubleParam thresholdLrScale;
  private final LongParam freezeBnStep;
  private final DoubleParam bnMomentum;
  private final LongParam lrStepSize;
  private final DoubleParam lrGamma;
  private final Param<String> workDir;
  private final DoubleParam distillWeight;

  public QatQuantizer() {
    this(Identifiable$.MODULE$.randomUID("qsparkQat"));
  }

  /** With a given uid (Spark's loader makes stages this way). */
  public QatQuantizer(String uid) {
    super(uid);
    labelCol = new Param<>(this, "labelCol", "The column of labels: integer class indices. Default: label.",
        StageParams.valid((String s) -> s != null && !s.isBlank()));
    epochs = new IntParam(this, "epochs", "Passes over the rows (--epochs). At least 1. Default: 1.", ParamValidators.gtEq(1));
    trainBatchSize = new IntParam(this, "trainBatchSize", "Images per training step, over all partitions (--batch-size)."
        + " At least 1. Default: 128.", ParamValidators.gtEq(1));
    microBatch = new IntParam(this, "microBatch", "Images per micro-batch, the unit a task computes gradients of"
        + " (--micro-batch); at most trainBatchSize. At least 1. Default: 32.", ParamValidators.gtEq(1));
    optimizer = new Param<>(this, "optimizer", "sgd (with momentum) or adam (--optimizer). Default: sgd.",
        ParamValidators.inArray(List.of("sgd", "adam")));
    lr = new DoubleParam(this, "lr", "Learning rate (--lr). Above 0. Default: 0.001.", ParamValidators.gt(0));
    momentum = new DoubleParam(this, "momentum", "SGD's momentum (--momentum), 0 to below 1. Default: 0.9.",
        ParamValidators.inRange(0, 1, true, false));
    weightDecay = new DoubleParam(this, "weightDecay", "L2 weight decay (--weight-decay). At least 0. Default: 0.",
        ParamValidators.gtEq(0));
    schedule = new Param<>(this, "schedule", "Learning-rate schedule: cosine, constant or step (--schedule). Default: cosine.",
        ParamValidators.inArray(List.of("cosine", "constant", "step")));
    warmupSteps = new IntParam(this, "warmupSteps", "Linear warm-up steps (--warmup-steps). At least 0. Default: 0.",
        ParamValidators.gtEq(0));
    seed = new LongParam(this, "seed", "Seed of the per-epoch shuffle (--seed). Default: 0.");
    learnThresholds = new BooleanParam(this, "learnThresholds", "Train the activation thresholds too (TQT,"
        + " --learn-thresholds). Default: false.");
    thresholdLrScale = new DoubleParam(this, "thresholdLrScale", "The thresholds' learning rate as a multiple of lr"
        + " (--threshold-lr-scale). Above 0. Default: 1.", ParamValidators.gt(0));
    freezeBnStep = new LongParam(this, "freezeBnStep", "Step from which BatchNorm uses its running statistics, folded"
        + " into the convs (--freeze-bn-step); 0: from the start, -1: after 80% of the steps. At least -1. Default: -1.",
        ParamValidators.gtEq(-1));
    bnMomentum = new DoubleParam(this, "bnMomentum", "Running statistics: (1 - M) running + M batch (--bn-momentum)."
        + " Above 0, at most 1. Default: 0.1.", ParamValidators.inRange(0, 1, false, true));
    lrStepSize = new LongParam(this, "lrStepSize", "Steps between learning-rate drops for schedule step"
        + " (--lr-step-size). At least 1. Default: 1000.", ParamValidators.gtEq(1));
    lrGamma = new DoubleParam(this, "lrGamma", "Factor of each drop for schedule step (--lr-gamma). Above 0, at most 1."
        + " Default: 0.1.", ParamValidators.inRange(0, 1, false, true));
    workDir = new Param<>(this, "workDir", "Where the run's folder and checkpoints go, local or on any Hadoop file"
        + " system; empty: a temporary folder on the driver, removed after the fit. Default: empty.",
        StageParams.valid((String s) -> s != null));
    distillWeight = new DoubleParam(this, "distillWeight", "Distillation from the float model (--distill-weight): the loss"
        + " is (1 - W) cross-entropy against labelCol + W times every output's squared error against the float model's,"
        + " divided by its variance; at 1 no labels are read. A model without class scores trains by distillation"
        + " alone. 0 to 1. Default: 0.", ParamValidators.inRange(0, 1, true, true));
    setDefault(distillWeight, 0.0);
    setDefault(labelCol, "label");
    setDefault(epochs, 1);
    setDefault(trainBatchSize, 128);
    setDefault(microBatch, 32);
    setDefault(optimizer, "sgd");
    setDefault(lr, 0.001);
    setDefault(momentum, 0.9);
    setDefault(weightDecay, 0.0);
    setDefault(schedule, "cosine");
    setDefault(warmupSteps, 0);
    setDefault(seed, 0L);
    setDefault(learnThresholds, false);
    setDefault(thresholdLrScale, 1.0);
    setDefault(freezeBnStep, -1L);
    setDefault(bnMomentum, 0.1);
    setDefault(lrStepSize, 1000L);
    setDefault(lrGamma, 0.1);
    setDefault(workDir, "");
  }

  public Param<String> labelCol() { return labelCol; }
  public IntParam epochs() { return epochs; }
  public IntParam trainBatchSize() { return trainBatchSize; }
  public IntParam microBatch() { return microBatch; }
  public Param<String> optimizer() { return optimizer; }
  public DoubleParam lr() { return lr; }
  public DoubleParam momentum() { return momentum; }
  public DoubleParam weightDecay() { return weightDecay; }
  public Param<String> schedule() { return schedule; }
  public IntParam warmupSteps() { return warmupSteps; }
  public LongParam seed() { return seed; }
  public BooleanParam learnThresholds() { return learnThresholds; }
  public DoubleParam thresholdLrScale() { return thresholdLrScale; }
  public LongParam freezeBnStep() { return freezeBnStep; }
  public DoubleParam bnMomentum() { return bnMomentum; }
  public LongParam lrStepSize() { return lrStepSize; }
  public DoubleParam lrGamma() { return lrGamma; }
  public Param<String> workDir() { return workDir; }
  public DoubleParam distillWeight() { return distillWeight; }

  public QatQuantizer setLabelCol(String v) { set(labelCol, v); return this; }
  public QatQuantizer setEpochs(int v) { set(epochs, v); return this; }
  public QatQuantizer setTrainBatchSize(int v) { set(trainBatchSize, v); return this; }
  public QatQuantizer setMicroBatch(int v) { set(microBatch, v); return this; }
  public QatQuantizer setOptimizer(String v) { set(optimizer, v); return this; }
  public QatQuantizer setLr(double v) { set(lr, v); return this; }
  public QatQuantizer setMomentum(double v) { set(momentum, v); return this; }
  public QatQuantizer setWeightDecay(double v) { set(weightDecay, v); return this; }
  public QatQuantizer setSchedule(String v) { set(schedule, v); return this; }
  public QatQuantizer setWarmupSteps(int v) { set(warmupSteps, v); return this; }
  public QatQuantizer setSeed(long v) { set(seed, v); return this; }
  public QatQuantizer setLearnThresholds(boolean v) { set(learnThresholds, v); return this; }
  public QatQuantizer setThresholdLrScale(double v) { set(thresholdLrScale, v); return this; }
  public QatQuantizer setFreezeBnStep(long v) { set(freezeBnStep, v); return this; }
  public QatQuantizer setBnMomentum(double v) { set(bnMomentum, v); return this; }
  public QatQuantizer setLrStepSize(long v) { set(lrStepSize, v); return this; }
  public QatQuantizer setLrGamma(double v) { set(lrGamma, v); return this; }
  public QatQuantizer setWorkDir(String v) { set(workDir, v); return this; }
  public QatQuantizer setDistillWeight(double v) { set(distillWeight, v); return this; }

  /** The application layer's settings these Params make, for the labelled images of {@code data}, writing to {@code out}. */
  public QatSettings settings(DataSettings data, String out) {
    return settings(() -> new QatSettings(calibrateSettings(data, false, new OutputSettings(out, true)),
        new QatSettings.Training(getInt(epochs), getInt(trainBatchSize), getInt(microBatch), (Long) $(freezeBnStep), (Double) $(bnMomentum),
            (Long) $(seed)),
        new QatSettings.Optimization(QatSettings.Optimizer.parse($(optimizer)), (Double) $(lr), (Double) $(momentum),
            (Double) $(weightDecay), LrSchedule.parse($(schedule)), getInt(warmupSteps), (Long) $(lrStepSize),
            (Double) $(lrGamma)),
        new QatSettings.Thresholds((Boolean) $(learnThresholds), (Double) $(thresholdLrScale)), QatSettings.Checkpoints.defaults(), null, 10,
        (Double) $(distillWeight)));
  }

  /** Calibrates, trains and compiles the deploy model of the trained one. */
  @Override
  public QuantizedModel fit(Dataset<?> dataset) {
    return fit(dataset, readsLabels() ? List.of($(labelCol)) : List.of(), data -> {
      boolean temporary = $(workDir).isEmpty();
      Path tmp = temporary ? temporaryFolder() : null;
      String dir = temporary ? "file:" + tmp : $(workDir);
      String out = dir.replaceAll("/+$", "") + "/model";
      try {
        new Qat(Notices.LOG).run(settings(data, out));
        return CalibrationFolder.open(out).contents();
      } finally {
        if (temporary) delete(tmp);
      }
    });
  }

  /** Labels are read unless the loss is distillation alone. */
  private boolean readsLabels() {
    return (Double) $(distillWeight) < 1;
  }

  /** The image column as the Quantizer's, and the label column present and integral (unless distillWeight is 1). */
  @Override
  public StructType transformSchema(StructType schema) {
    super.transformSchema(schema);
    if (!readsLabels()) return schema;
    for (StructField f : schema.fields()) {
      if (f.name().equals($(labelCol))) {
        if (!ImageColumn.integral(f.dataType())) {
          throw new IllegalArgumentException(uid() + ": column '" + f.name() + "' (Param labelCol) is "
              + f.dataType().simpleString() + "; labels must be integer class indices");
        }
        return schema;
      }
    }
    throw new IllegalArgumentException(uid() + ": the DataFrame has no column '" + $(labelCol) + "' (Param labelCol; its"
        + " columns: " + String.join(", ", schema.fieldNames()) + "); without labels, set distillWeight 1 to train by"
        + " distillation from the float model");
  }

  private static Path temporaryFolder() {
    try {
      return Files.createTempDirectory("qspark-qat-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The temporary folder this fit made, and what qspark wrote into it. */
  private static void delete(Path dir) {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    } catch (IOException e) {
      // a temporary folder left behind is harmless; the fit's own outcome matters more
    }
  }

  @Override
  public QatQuantizer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  public static MLReader<QatQuantizer> read() {
    return new StagePersistence.ParamsReader<>(QatQuantizer.class);
  }

  public static QatQuantizer load(String path) {
    return read().load(path);
  }
}

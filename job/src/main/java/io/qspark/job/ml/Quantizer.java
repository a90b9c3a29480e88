package io.qspark.job.ml;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.DataSettings;
import io.qspark.job.app.Finetune;
import io.qspark.job.app.FinetuneSettings;
import io.qspark.job.app.Refinement;
import io.qspark.job.app.Notices;
import io.qspark.kernels.passes.CrossLayerEqualization;
import java.util.List;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;

/**
 * Post-training quantization as a Spark ML Estimator: {@link #fit} calibrates the float model
 * at {@code modelPath} on the images of a DataFrame's {@code imageCol} (the first
 * {@code calibSize}; no labels needed) exactly as {@code qspark calibrate} and
 * {@code qspark finetune} do, through the application layer (its {@link FinetuneSettings} are
 * these Params), and compiles the deploy model; the result is a {@link QuantizedModel}.
 *
 * <pre>{@code
 * Quantizer q = new Quantizer().setModelPath("hdfs:///models/resnet_s.onnx")
 *     .setMean(new double[] {72.94}).setStd(new double[] {90.02});
 * PipelineModel p = new Pipeline().setStages(new PipelineStage[] {q}).fit(spark.read().format("image").load(dir));
 * p.transform(images);   // + one column per model output, fake-quantized
 * p.write().save(path);  // PipelineModel.load(path) in another session
 * }</pre>
 *
 * Bad input is an IllegalArgumentException naming the column, the Param or the file.
 */
public final class Quantizer extends QuantizationEstimator<Quantizer> {
  private static final long serialVersionUID = 1L;

  private final BooleanParam sequential;
  private final BooleanParam cle;
  private final BooleanParam biasCorrection;
  private final IntParam adaquantSteps;
  private final IntParam adaquantImagesPerStep;
  private final IntParam refineRounds;
  private final IntParam refineImages;
  private final IntParam rangeGroups;

  public Quantizer() {
    this(Identifiable$.MODULE$.randomUID("qsparkQuantizer"));
  }

  /** With a given uid (Spark's loader makes stages this way). */
  public Quantizer(String uid) {
    super(uid);
    sequential = new BooleanParam(this, "sequential", "Calibrate layer by layer, each wave of layers on inputs quantized"
        + " by the layers before it (a pass per wave). Default: false.");
    cle = new BooleanParam(this, "cle", "Cross-layer equalization before calibration, kept only if it helps (finetune's"
        + " check). Default: false.");
    biasCorrection = new BooleanParam(this, "biasCorrection", "Empirical bias correction, kept only if it helps."
        + " Default: false.");
    adaquantSteps = new IntParam(this, "adaquantSteps", "AdaQuant: Adam steps per layer after calibration (DPU-style"
        + " quantization only); 0: off. At least 0. Default: 0.", ParamValidators.gtEq(0));
    adaquantImagesPerStep = new IntParam(this, "adaquantImagesPerStep", "AdaQuant's images per step from each"
        + " partition's shard; 0: all. At least 0. Default: 64.", ParamValidators.gtEq(0));
    refineRounds = new IntParam(this, "refineRounds", "Output-aware refinement of the fix_points: rounds of one-step"
        + " moves kept where the model's outputs score higher (--refine-rounds); 0: off. 0 to " + Refinement.MAX_ROUNDS
        + ". Default: 0.", ParamValidators.inRange(0, Refinement.MAX_ROUNDS));
    refineImages = new IntParam(this, "refineImages", "Calibration images the refinement scores on (the first N)."
        + " At least 1. Default: " + Refinement.DEFAULT_IMAGES + ".", ParamValidators.gtEq(1));
    rangeGroups = new IntParam(this, "rangeGroups", "Runs of calibration images (in data order) whose activation"
        + " ranges are chosen apart, each point taking the widest (--range-groups); 1: one choice over all images."
        + " 1 to " + CalibrateSettings.MAX_RANGE_GROUPS + ". Default: 1.",
        ParamValidators.inRange(1, CalibrateSettings.MAX_RANGE_GROUPS));
    setDefault(sequential, false);
    setDefault(cle, false);
    setDefault(biasCorrection, false);
    setDefault(adaquantSteps, 0);
    setDefault(adaquantImagesPerStep, 64);
    setDefault(refineRounds, 0);
    setDefault(refineImages, Refinement.DEFAULT_IMAGES);
    setDefault(rangeGroups, 1);
  }

  public BooleanParam sequential() { return sequential; }
  public BooleanParam cle() { return cle; }
  public BooleanParam biasCorrection() { return biasCorrection; }
  public IntParam adaquantSteps() { return adaquantSteps; }
  public IntParam adaquantImagesPerStep() { return adaquantImagesPerStep; }
  public IntParam refineRounds() { return refineRounds; }
  public IntParam refineImages() { return refineImages; }
  public IntParam rangeGroups() { return rangeGroups; }

  public Quantizer setSequential(boolean v) { set(sequential, v); return this; }
  public Quantizer setCle(boolean v) { set(cle, v); return this; }
  public Quantizer setBiasCorrection(boolean v) { set(biasCorrection, v); return this; }
  public Quantizer setAdaquantSteps(int v) { set(adaquantSteps, v); return this; }
  public Quantizer setAdaquantImagesPerStep(int v) { set(adaquantImagesPerStep, v); return this; }
  public Quantizer setRefineRounds(int v) { set(refineRounds, v); return this; }
  public Quantizer setRefineImages(int v) { set(refineImages, v); return this; }
  public Quantizer setRangeGroups(int v) { set(rangeGroups, v); return this; }

  /** The application layer's settings these Params make, for the images of {@code data}. */
  public FinetuneSettings settings(DataSettings data) {
    return settings(() -> new FinetuneSettings(calibrateSettings(data, (Boolean) $(sequential), null)
        .withRefine(new Refinement(getInt(refineRounds), getInt(refineImages))).withRangeGroups(getInt(rangeGroups)),
        (Boolean) $(cle),
        CrossLayerEqualization.Relu6.KEEP, (Boolean) $(biasCorrection), getInt(adaquantSteps), getInt(adaquantImagesPerStep), 0));
  }

  /**
   * Calibrates (and fine-tunes, as the Params ask) on the first calibSize images of the
   * column, then compiles the deploy model. The column is checked first; a model the DPU
   * cannot run (with no target for its other nodes) still fits, for float and fakequant.
   */
  @Override
  public QuantizedModel fit(Dataset<?> dataset) {
    return fit(dataset, List.of(), data -> new Finetune(Notices.LOG).calibrate(settings(data)).contents());
  }

  @Override
  public Quantizer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  public static MLReader<Quantizer> read() {
    return new StagePersistence.ParamsReader<>(Quantizer.class);
  }

  public static Quantizer load(String path) {
    return read().load(path);
  }
}

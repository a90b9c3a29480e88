package io.qspark.job.ml;

import static org.apache.spark.sql.functions.col;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.Calibration;
import io.qspark.job.app.DataSettings;
import io.qspark.job.app.Deploy;
import io.qspark.job.app.Finetune;
import io.qspark.job.app.FinetuneSettings;
import io.qspark.job.app.ModelSettings;
import io.qspark.job.app.Notices;
import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.passes.CrossLayerEqualization;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.Rounding;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Post-training quantization as a Spark ML Estimator: {@link #fit} calibrates the float model
 * at {@code modelPath} on the images of a DataFrame's {@code imageCol} (the first
 * {@code calibSize}; no labels needed) exactly as {@code qspark calibrate} and
 * {@code qspark finetune} do, through the application layer (its {@link FinetuneSettings} are
 * these Params), and compiles the deploy model; the result is a {@link QuantizedModel}.
 *
 * <pre>{@code
 * Quantizer q = new Quantizer().setModelPath("hdfs:///models/resnet_s.onnx")
 *     .setMean(new double[] {125.3, 123.0, 113.9}).setStd(new double[] {63.0, 62.1, 66.7});
 * PipelineModel p = new Pipeline().setStages(new PipelineStage[] {q}).fit(spark.read().format("image").load(dir));
 * p.transform(images);   // + one column per model output, fake-quantized
 * p.write().save(path);  // PipelineModel.load(path) in another session
 * }</pre>
 *
 * Bad input is an IllegalArgumentException naming the column, the Param or the file.
 */
public final class Quantizer extends Estimator<QuantizedModel> implements MLWritable {
  private static final long serialVersionUID = 1L;
  private static final AtomicLong FITS = new AtomicLong();

  private final String uid;
  private final Param<String> modelPath;
  private final Param<String> weightsPath;
  private final Param<String> imageCol;
  private final IntParam calibSize;
  private final IntParam batchSize;
  private final Param<String> method;
  private final DoubleParam percentile;
  private final IntParam weightBits;
  private final IntParam activationBits;
  private final Param<String> activationRounding;
  private final Param<String> weightRounding;
  private final BooleanParam sequential;
  private final BooleanParam cle;
  private final BooleanParam biasCorrection;
  private final IntParam adaquantSteps;
  private final IntParam adaquantImagesPerStep;
  private final DoubleArrayParam mean;
  private final DoubleArrayParam std;
  private final DoubleParam rawScale;
  private final IntArrayParam channelSwap;
  private final IntParam resize;
  private final IntArrayParam crop;
  private final Param<String> target;
  private final Param<String> mode;
  private final Param<String> outputColPrefix;

  public Quantizer() {
    this(Identifiable$.MODULE$.randomUID("qsparkQuantizer"));
  }

  /** With a given uid (Spark's loader makes stages this way). */
  public Quantizer(String uid) {
    this.uid = uid;
    modelPath = new Param<>(this, "modelPath", "The float model: an ONNX file or a Caffe deploy .prototxt, local or on"
        + " any Hadoop file system (hdfs://, s3a://, ...). Required.", StageParams.valid((String s) -> s != null && !s.isBlank()));
    weightsPath = new Param<>(this, "weightsPath", "A Caffe model's .caffemodel; empty: the one of the same name beside"
        + " the .prototxt. Default: empty.", StageParams.valid((String s) -> s != null));
    imageCol = StageParams.imageCol(this);
    calibSize = new IntParam(this, "calibSize", "Calibration images: the first N rows of the DataFrame (all, with a"
        + " warning, if it has fewer). At least 1. Default: " + CalibrateSettings.DEFAULT_CALIB_SIZE + ".", ParamValidators.gtEq(1));
    batchSize = StageParams.batchSize(this);
    method = new Param<>(this, "method", "How activation fix_points are chosen: maxmin (no overflow), percentile, mse"
        + " (Vitis' 'diffs') or entropy (KL divergence). Default: mse.",
        ParamValidators.inArray(List.of("maxmin", "percentile", "mse", "entropy")));
    percentile = new DoubleParam(this, "percentile", "For method percentile: the share of |x| kept unclipped, in percent,"
        + " above 0 and at most 100. Default: 99.99.", ParamValidators.inRange(0, 100, false, true));
    weightBits = new IntParam(this, "weightBits", "Bit width of weights and biases, 2 to 16 (the DPU: 8). Default: 8.",
        ParamValidators.inRange(2, 16));
    activationBits = new IntParam(this, "activationBits", "Bit width of activations, 2 to 16 (the DPU: 8). Default: 8.",
        ParamValidators.inRange(2, 16));
    List<String> roundings = List.of("half-up", "half-away", "half-even");
    activationRounding = new Param<>(this, "activationRounding", "Rounding of activations: half-up (the DPU's),"
        + " half-away or half-even. Default: half-up.", ParamValidators.inArray(roundings));
    weightRounding = new Param<>(this, "weightRounding", "Rounding of weights, biases and the network input: half-away"
        + " (Vitis'), half-up or half-even. Default: half-away.", ParamValidators.inArray(roundings));
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
    mean = new DoubleArrayParam(this, "mean", "Per-channel means subtracted after the raw scale (one value: all"
        + " channels), as --mean. Empty: 0. Default: empty.", StageParams.valid((double[] v) -> finite(v)));
    std = new DoubleArrayParam(this, "std", "Per-channel divisors after the mean (one value: all channels), as --std;"
        + " each non-zero. Empty: 1. Default: empty.",
        StageParams.valid((double[] v) -> finite(v) && java.util.Arrays.stream(v).noneMatch(x -> x == 0)));
    rawScale = new DoubleParam(this, "rawScale", "Pixels are scaled from 0..255 to 0..rawScale first, as --raw-scale."
        + " Above 0. Default: 255.", ParamValidators.gt(0));
    channelSwap = new IntArrayParam(this, "channelSwap", "Model channel c takes image channel channelSwap[c] (images are"
        + " R,G,B; [2,1,0] feeds B,G,R), as --channel-swap. Empty: as stored. Default: empty.",
        StageParams.valid((int[] v) -> java.util.Arrays.stream(v).allMatch(x -> x >= 0)));
    resize = new IntParam(this, "resize", "Resize the shorter side to this many pixels (bilinear) before the crop, as"
        + " --resize; 0: no resize. At least 0. Default: 0.", ParamValidators.gtEq(0));
    crop = new IntArrayParam(this, "crop", "Center crop H[,W] after the resize, as --crop. Empty: no crop. Default: empty.",
        StageParams.valid((int[] v) -> v.length <= 2 && java.util.Arrays.stream(v).allMatch(x -> x >= 1)));
    target = new Param<>(this, "target", "A DPU target (a bundled name or a target YAML file) whose unsupported nodes the"
        + " deploy model runs as CPU layers; empty: every node on the DPU. Default: empty.",
        StageParams.valid((String s) -> s != null));
    mode = StageParams.mode(this);
    outputColPrefix = StageParams.outputColPrefix(this);

    setDefault(weightsPath, "");
    setDefault(imageCol, StageParams.DEFAULT_IMAGE_COL);
    setDefault(calibSize, CalibrateSettings.DEFAULT_CALIB_SIZE);
    setDefault(batchSize, StageParams.DEFAULT_BATCH);
    setDefault(method, "mse");
    setDefault(percentile, 99.99);
    setDefault(weightBits, 8);
    setDefault(activationBits, 8);
    setDefault(activationRounding, "half-up");
    setDefault(weightRounding, "half-away");
    setDefault(sequential, false);
    setDefault(cle, false);
    setDefault(biasCorrection, false);
    setDefault(adaquantSteps, 0);
    setDefault(adaquantImagesPerStep, 64);
    setDefault(mean, new double[0]);
    setDefault(std, new double[0]);
    setDefault(rawScale, 255.0);
    setDefault(channelSwap, new int[0]);
    setDefault(resize, 0);
    setDefault(crop, new int[0]);
    setDefault(target, "");
    setDefault(mode, StageParams.DEFAULT_MODE);
    setDefault(outputColPrefix, "");
  }

  private static boolean finite(double[] v) {
    return java.util.Arrays.stream(v).allMatch(Double::isFinite);
  }

  @Override
  public String uid() {
    return uid;
  }

  // Params, as Spark finds them (public, no arguments, returning a Param)
  public Param<String> modelPath() { return modelPath; }
  public Param<String> weightsPath() { return weightsPath; }
  public Param<String> imageCol() { return imageCol; }
  public IntParam calibSize() { return calibSize; }
  public IntParam batchSize() { return batchSize; }
  public Param<String> method() { return method; }
  public DoubleParam percentile() { return percentile; }
  public IntParam weightBits() { return weightBits; }
  public IntParam activationBits() { return activationBits; }
  public Param<String> activationRounding() { return activationRounding; }
  public Param<String> weightRounding() { return weightRounding; }
  public BooleanParam sequential() { return sequential; }
  public BooleanParam cle() { return cle; }
  public BooleanParam biasCorrection() { return biasCorrection; }
  public IntParam adaquantSteps() { return adaquantSteps; }
  public IntParam adaquantImagesPerStep() { return adaquantImagesPerStep; }
  public DoubleArrayParam mean() { return mean; }
  public DoubleArrayParam std() { return std; }
  public DoubleParam rawScale() { return rawScale; }
  public IntArrayParam channelSwap() { return channelSwap; }
  public IntParam resize() { return resize; }
  public IntArrayParam crop() { return crop; }
  public Param<String> target() { return target; }
  public Param<String> mode() { return mode; }
  public Param<String> outputColPrefix() { return outputColPrefix; }

  public Quantizer setModelPath(String v) { set(modelPath, v); return this; }
  public Quantizer setWeightsPath(String v) { set(weightsPath, v); return this; }
  public Quantizer setImageCol(String v) { set(imageCol, v); return this; }
  public Quantizer setCalibSize(int v) { set(calibSize, v); return this; }
  public Quantizer setBatchSize(int v) { set(batchSize, v); return this; }
  public Quantizer setMethod(String v) { set(method, v); return this; }
  public Quantizer setPercentile(double v) { set(percentile, v); return this; }
  public Quantizer setWeightBits(int v) { set(weightBits, v); return this; }
  public Quantizer setActivationBits(int v) { set(activationBits, v); return this; }
  public Quantizer setActivationRounding(String v) { set(activationRounding, v); return this; }
  public Quantizer setWeightRounding(String v) { set(weightRounding, v); return this; }
  public Quantizer setSequential(boolean v) { set(sequential, v); return this; }
  public Quantizer setCle(boolean v) { set(cle, v); return this; }
  public Quantizer setBiasCorrection(boolean v) { set(biasCorrection, v); return this; }
  public Quantizer setAdaquantSteps(int v) { set(adaquantSteps, v); return this; }
  public Quantizer setAdaquantImagesPerStep(int v) { set(adaquantImagesPerStep, v); return this; }
  public Quantizer setMean(double[] v) { set(mean, v); return this; }
  public Quantizer setStd(double[] v) { set(std, v); return this; }
  public Quantizer setRawScale(double v) { set(rawScale, v); return this; }
  public Quantizer setChannelSwap(int[] v) { set(channelSwap, v); return this; }
  public Quantizer setResize(int v) { set(resize, v); return this; }
  public Quantizer setCrop(int[] v) { set(crop, v); return this; }
  public Quantizer setTarget(String v) { set(target, v); return this; }
  public Quantizer setMode(String v) { set(mode, v); return this; }
  public Quantizer setOutputColPrefix(String v) { set(outputColPrefix, v); return this; }

  /**
   * The application layer's settings these Params make, for the images of {@code data}.
   * Checks that the Params agree with each other (the validators check each one alone).
   */
  public FinetuneSettings settings(DataSettings data) {
    if (!isDefined(modelPath)) throw new IllegalArgumentException("Param modelPath must be set: the float model to quantize");
    try {
      QuantConfig cfg = new QuantConfig(getInt(weightBits), getInt(activationBits), getInt(weightBits),
          Method.parse($(method)), (Double) $(percentile), Rounding.parse($(activationRounding)),
          Rounding.parse($(weightRounding)), List.of(), List.of(), false, io.qspark.kernels.quant.Granularity.PER_TENSOR,
          io.qspark.kernels.quant.ScaleKind.POWER_OF_TWO);
      PreprocessSettings pre = new PreprocessSettings(floats($(mean)), floats($(std)),
          getDouble(rawScale) == 255.0 ? null : (float) getDouble(rawScale), emptyToNull($(channelSwap)),
          getInt(resize) == 0 ? null : getInt(resize), emptyToNull($(crop)), false);
      String weights = $(weightsPath).isEmpty() ? null : $(weightsPath);
      CalibrateSettings cs = new CalibrateSettings(new ModelSettings($(modelPath), weights), data, pre, cfg, getInt(calibSize),
          getInt(batchSize), (Boolean) $(sequential), null, SparkSettings.DEFAULT);
      return new FinetuneSettings(cs, (Boolean) $(cle), CrossLayerEqualization.Relu6.KEEP, (Boolean) $(biasCorrection),
          getInt(adaquantSteps), getInt(adaquantImagesPerStep));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(uid + ": " + Errors.params(e.getMessage()), e);
    }
  }

  /**
   * Calibrates (and fine-tunes, as the Params ask) on the first calibSize images of the
   * column, then compiles the deploy model. The column is checked first; a model the DPU
   * cannot run (with no target for its other nodes) still fits, for float and fakequant.
   */
  @Override
  public QuantizedModel fit(Dataset<?> dataset) {
    transformSchema(dataset.schema());
    SparkSession spark = dataset.sparkSession();
    SparkSession.setActiveSession(spark);
    String view = "qspark_fit_" + uid.replaceAll("[^A-Za-z0-9_]", "_") + "_" + FITS.incrementAndGet();
    // the image column alone: the data source reads a table by name, and other columns (a
    // label of another type) are none of calibration's business
    Dataset<Row> images = dataset.toDF().select(col($(imageCol)));
    FinetuneSettings fs = settings(new DataSettings("table:" + view, null, -1, null, $(imageCol), null, true));
    images.createOrReplaceTempView(view);
    try {
      Calibration c = new Finetune(Notices.LOG).calibrate(fs);
      Deploy.Compiled deployed = null;
      String notDeployed = null;
      try {
        deployed = new Deploy().compile(c, $(target).isEmpty() ? null : $(target));
      } catch (IllegalArgumentException e) {
        notDeployed = e.getMessage();
      }
      QuantizedModel m = new QuantizedModel(uid, c.contents(), deployed == null ? null
          : deployed.contents(c.contents()), notDeployed);
      return copyValues(m.setParent(this), extractParamMap());
    } catch (RuntimeException e) {
      throw Errors.api(e);
    } finally {
      spark.catalog().dropTempView(view);
    }
  }

  /** The schema's image column is checked; the Estimator adds no columns (its Model does). */
  @Override
  public StructType transformSchema(StructType schema) {
    Errors.imageColumn(schema, $(imageCol), uid);
    return schema;
  }

  @Override
  public Quantizer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  @Override
  public MLWriter write() {
    return new StagePersistence.ParamsWriter(this);
  }

  public static MLReader<Quantizer> read() {
    return new StagePersistence.ParamsReader<>(Quantizer.class);
  }

  public static Quantizer load(String path) {
    return read().load(path);
  }

  private int getInt(IntParam p) {
    return (Integer) $(p);
  }

  private double getDouble(DoubleParam p) {
    return (Double) $(p);
  }

  private static float[] floats(double[] v) {
    if (v.length == 0) return null;
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
    return f;
  }

  private static int[] emptyToNull(int[] v) {
    return v.length == 0 ? null : v;
  }
}

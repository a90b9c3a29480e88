package io.qspark.job.ml;

import static org.apache.spark.sql.functions.col;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.DataSettings;
import io.qspark.job.app.Deploy;
import io.qspark.job.app.ModelSettings;
import io.qspark.job.app.OutputSettings;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.preprocess.PreprocessSettings;
import io.qspark.job.spark.SparkSettings;
import io.qspark.kernels.quant.Granularity;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.quant.ScaleKind;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * What qspark's Estimators share: the float model, the image column and how its pixels become
 * model inputs, the quantization (bits, method, rounding), the calibration images and the
 * mini-batch, the DPU target of the deploy model, and the Params the fitted
 * {@link QuantizedModel} takes over (mode, output columns). {@link Quantizer} calibrates (and
 * fine-tunes); {@link QatQuantizer} trains. Their Params map to the application layer's
 * settings records, which check them together (the validators check each alone).
 *
 * @param <E> the Estimator, which the setters return
 */
public abstract class QuantizationEstimator<E extends QuantizationEstimator<E>> extends Estimator<QuantizedModel>
    implements MLWritable {
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
  private final DoubleArrayParam mean;
  private final DoubleArrayParam std;
  private final DoubleParam rawScale;
  private final IntArrayParam channelSwap;
  private final IntParam resize;
  private final IntArrayParam crop;
  private final Param<String> target;
  private final Param<String> mode;
  private final Param<String> outputColPrefix;

  protected QuantizationEstimator(String uid) {
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
    mean = new DoubleArrayParam(this, "mean", "Per-channel means subtracted after the raw scale (one value: all"
        + " channels), as --mean. Empty: 0. Default: empty.", StageParams.valid((double[] v) -> finite(v)));
    std = new DoubleArrayParam(this, "std", "Per-channel divisors after the mean (one value: all channels), as --std;"
        + " each non-zero. Empty: 1. Default: empty.",
        StageParams.valid((double[] v) -> finite(v) && Arrays.stream(v).noneMatch(x -> x == 0)));
    rawScale = new DoubleParam(this, "rawScale", "Pixels are scaled from 0..255 to 0..rawScale first, as --raw-scale."
        + " Above 0. Default: 255.", ParamValidators.gt(0));
    channelSwap = new IntArrayParam(this, "channelSwap", "Model channel c takes image channel channelSwap[c] (images are"
        + " R,G,B; [2,1,0] feeds B,G,R), as --channel-swap. Empty: as stored. Default: empty.",
        StageParams.valid((int[] v) -> Arrays.stream(v).allMatch(x -> x >= 0)));
    resize = new IntParam(this, "resize", "Resize the shorter side to this many pixels (bilinear) before the crop, as"
        + " --resize; 0: no resize. At least 0. Default: 0.", ParamValidators.gtEq(0));
    crop = new IntArrayParam(this, "crop", "Center crop H[,W] after the resize, as --crop. Empty: no crop. Default: empty.",
        StageParams.valid((int[] v) -> v.length <= 2 && Arrays.stream(v).allMatch(x -> x >= 1)));
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
    return Arrays.stream(v).allMatch(Double::isFinite);
  }

  @SuppressWarnings("unchecked")
  private E self() {
    return (E) this;
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
  public DoubleArrayParam mean() { return mean; }
  public DoubleArrayParam std() { return std; }
  public DoubleParam rawScale() { return rawScale; }
  public IntArrayParam channelSwap() { return channelSwap; }
  public IntParam resize() { return resize; }
  public IntArrayParam crop() { return crop; }
  public Param<String> target() { return target; }
  public Param<String> mode() { return mode; }
  public Param<String> outputColPrefix() { return outputColPrefix; }

  public E setModelPath(String v) { set(modelPath, v); return self(); }
  public E setWeightsPath(String v) { set(weightsPath, v); return self(); }
  public E setImageCol(String v) { set(imageCol, v); return self(); }
  public E setCalibSize(int v) { set(calibSize, v); return self(); }
  public E setBatchSize(int v) { set(batchSize, v); return self(); }
  public E setMethod(String v) { set(method, v); return self(); }
  public E setPercentile(double v) { set(percentile, v); return self(); }
  public E setWeightBits(int v) { set(weightBits, v); return self(); }
  public E setActivationBits(int v) { set(activationBits, v); return self(); }
  public E setActivationRounding(String v) { set(activationRounding, v); return self(); }
  public E setWeightRounding(String v) { set(weightRounding, v); return self(); }
  public E setMean(double[] v) { set(mean, v); return self(); }
  public E setStd(double[] v) { set(std, v); return self(); }
  public E setRawScale(double v) { set(rawScale, v); return self(); }
  public E setChannelSwap(int[] v) { set(channelSwap, v); return self(); }
  public E setResize(int v) { set(resize, v); return self(); }
  public E setCrop(int[] v) { set(crop, v); return self(); }
  public E setTarget(String v) { set(target, v); return self(); }
  public E setMode(String v) { set(mode, v); return self(); }
  public E setOutputColPrefix(String v) { set(outputColPrefix, v); return self(); }

  /**
   * The calibration settings these Params make, for the images of {@code data}.
   *
   * @param sequential layer-by-layer calibration
   * @param out where a folder is written, or null (kept in memory)
   */
  protected CalibrateSettings calibrateSettings(DataSettings data, boolean sequential, OutputSettings out) {
    if (!isDefined(modelPath)) throw new IllegalArgumentException("Param modelPath must be set: the float model to quantize");
    QuantConfig cfg = new QuantConfig(new QuantConfig.Widths(getInt(weightBits), getInt(activationBits), getInt(weightBits)),
        Method.parse($(method)), (Double) $(percentile), Rounding.parse($(activationRounding)), Rounding.parse($(weightRounding)),
        QuantConfig.Region.ALL, new QuantConfig.Scheme(false, Granularity.PER_TENSOR, ScaleKind.POWER_OF_TWO), List.of());
    double raw = (Double) $(rawScale);
    PreprocessSettings pre = new PreprocessSettings(floats($(mean)), floats($(std)), raw == 255.0 ? null : (float) raw,
        emptyToNull($(channelSwap)), getInt(resize) == 0 ? null : getInt(resize), emptyToNull($(crop)), false);
    String weights = $(weightsPath).isEmpty() ? null : $(weightsPath);
    return new CalibrateSettings(new ModelSettings($(modelPath), weights), data, pre, cfg, getInt(calibSize), getInt(batchSize),
        sequential, out, SparkSettings.DEFAULT, null);
  }

  /** A settings record made from the Params, its message naming Params where it names flags. */
  protected <T> T settings(java.util.function.Supplier<T> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(uid + ": " + Errors.params(e.getMessage()), e);
    }
  }

  /**
   * Runs {@code work} on the DataFrame's columns (the image column, and {@code more}) made a
   * temporary view, which the application layer reads as {@code table:NAME}; returns the fitted
   * model with the deploy model compiled (a model that does not compile still fits, for the
   * float and fakequant modes) and these Params copied.
   */
  protected QuantizedModel fit(Dataset<?> dataset, List<String> more, Function<DataSettings, CalibrationFolder.Contents> work) {
    transformSchema(dataset.schema());
    SparkSession spark = dataset.sparkSession();
    SparkSession.setActiveSession(spark);
    String view = "qspark_fit_" + uid.replaceAll("[^A-Za-z0-9_]", "_") + "_" + FITS.incrementAndGet();
    // these columns alone: other columns (a label of another type) are none of the stage's business
    Column[] cols = java.util.stream.Stream.concat(java.util.stream.Stream.of($(imageCol)), more.stream())
        .map(c -> col(c)).toArray(Column[]::new);
    Dataset<Row> rows = dataset.toDF().select(cols);
    String label = more.isEmpty() ? null : more.get(0);
    DataSettings data = new DataSettings("table:" + view, null, -1, null, $(imageCol), label, true);
    rows.createOrReplaceTempView(view);
    try {
      CalibrationFolder.Contents c = work.apply(data);
      Deploy.Compiled deployed = null;
      String notDeployed = null;
      try {
        deployed = new Deploy().compile(c, $(target).isEmpty() ? null : $(target));
      } catch (IllegalArgumentException e) {
        notDeployed = e.getMessage();
      }
      QuantizedModel m = new QuantizedModel(uid, c, deployed == null ? null : deployed.contents(c), notDeployed);
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
  public MLWriter write() {
    return new StagePersistence.ParamsWriter(this);
  }

  protected int getInt(IntParam p) {
    return (Integer) $(p);
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

package io.qspark.job.ml;

import static org.apache.spark.sql.functions.col;

import io.qspark.job.data.Decoding;
import io.qspark.job.data.ImageColumn;
import io.qspark.job.eval.Classifier;
import io.qspark.job.model.LoadedModels;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.output.CalibrationFolder;
import io.qspark.job.output.DeployFolder;
import io.qspark.job.output.SparkStageFolder;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.InputPreprocessing;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.job.spark.BatchedRows;
import io.qspark.job.spark.ModelOutputs;
import io.qspark.job.spark.PredictionJob;
import io.qspark.job.spark.SimulationJob;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * A quantized model as a Spark ML Transformer (what {@link Quantizer#fit} returns):
 * {@link #transform} appends one array&lt;float&gt; column per model output, computed on the
 * executors in mini-batches by the model {@code mode} names: the float model, the fake-quant
 * model, or the deploy model in the bit-exact integer simulator. Images are made model inputs
 * as the calibration's images were (the preprocessing the model records). Immutable; saves its
 * calibration and deploy model as the folders the command line writes, so a saved model's
 * {@code calibration} and {@code deploy} folders also work with {@code qspark evaluate} and
 * {@code qspark simulate}.
 */
public final class QuantizedModel extends Model<QuantizedModel> implements MLWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final CalibrationFolder.Contents calibration;
  /** Null when the model did not compile for the DPU: then {@link #notDeployed} says why. */
  private final DeployFolder.Contents deploy;
  private final String notDeployed;
  private final Param<String> imageCol;
  private final IntParam batchSize;
  private final Param<String> mode;
  private final Param<String> outputColPrefix;

  QuantizedModel(String uid, CalibrationFolder.Contents calibration, DeployFolder.Contents deploy, String notDeployed) {
    this.uid = uid;
    this.calibration = calibration;
    this.deploy = deploy;
    this.notDeployed = notDeployed;
    imageCol = StageParams.imageCol(this);
    batchSize = StageParams.batchSize(this);
    mode = StageParams.mode(this);
    outputColPrefix = StageParams.outputColPrefix(this);
    setDefault(imageCol, StageParams.DEFAULT_IMAGE_COL);
    setDefault(batchSize, StageParams.DEFAULT_BATCH);
    setDefault(mode, StageParams.DEFAULT_MODE);
    setDefault(outputColPrefix, "");
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> imageCol() { return imageCol; }
  public IntParam batchSize() { return batchSize; }
  public Param<String> mode() { return mode; }
  public Param<String> outputColPrefix() { return outputColPrefix; }

  public QuantizedModel setImageCol(String v) { set(imageCol, v); return this; }
  public QuantizedModel setBatchSize(int v) { set(batchSize, v); return this; }
  public QuantizedModel setMode(String v) { set(mode, v); return this; }
  public QuantizedModel setOutputColPrefix(String v) { set(outputColPrefix, v); return this; }

  /** quant_info.json of the calibration: every fix_point. */
  public String quantInfoJson() {
    return calibration.quantInfo();
  }

  /** How images become the model's input, as the calibration recorded it. */
  public InputPreprocessing preprocessing() {
    return calibration.preprocessing();
  }

  /** Whether the model compiled for the DPU (mode integer needs it); if not, why. */
  public Optional<String> notDeployed() {
    return deploy != null ? Optional.empty() : Optional.of(notDeployed == null ? "no deploy model" : notDeployed);
  }

  /** The blob executors run: the float model, with the fix_points unless float. */
  private ModelBlob blob(ModelOutputs.Mode m) {
    ModelBlob b = ModelBlob.of(calibration.reportTitle(), calibration.floatModel());
    return m == ModelOutputs.Mode.FLOAT ? b : b.quantized(calibration.quantInfo());
  }

  private ModelSignature signature() {
    return ModelSignature.of(LoadedModels.get(blob(ModelOutputs.Mode.FLOAT)).model());
  }

  /** The output columns, in the model's output order: prefix + output name. */
  public List<String> outputCols() {
    return signature().outputs().stream().map(p -> $(outputColPrefix) + p.name()).toList();
  }

  @Override
  public StructType transformSchema(StructType schema) {
    Errors.imageColumn(schema, $(imageCol), uid);
    List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
    for (String c : outputCols()) {
      if (Arrays.asList(schema.fieldNames()).contains(c)) {
        throw new IllegalArgumentException(uid + ": the DataFrame already has a column '" + c + "', which the model's"
            + " output would be; choose another Param outputColPrefix");
      }
      fields.add(DataTypes.createStructField(c, DataTypes.createArrayType(DataTypes.FloatType, false), true));
    }
    return DataTypes.createStructType(fields);
  }

  /**
   * The DataFrame with the model's outputs appended (null for a row whose image is null).
   * Checked on the driver first: the column, the Params, the mode (integer needs a model that
   * compiled for the DPU), and the first images' size against the model's input.
   */
  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    try {
      StructType out = transformSchema(dataset.schema());
      Dataset<Row> df = dataset.toDF();
      ModelOutputs.Mode m = ModelOutputs.Mode.parse($(mode));
      if (m == ModelOutputs.Mode.INTEGER && deploy == null) {
        throw new IllegalArgumentException(uid + ": Param mode integer needs the deploy model, which did not compile: "
            + notDeployed().orElseThrow());
      }
      InputPreprocessing rec = calibration.preprocessing();
      ModelSignature sig = signature();
      String column = $(imageCol);
      int index = Arrays.asList(df.schema().fieldNames()).indexOf(column);
      ImageColumn images = images(df, column, rec);
      Preprocessing pixels = images.preprocessed() ? Preprocessing.none() : rec.pixels();
      checkShape(images, pixels, rec);
      int batch = (int) Math.min((Integer) $(batchSize), Math.max(1, Classifier.BATCH_BYTES / Math.max(1, sig.bytesPerItem())));
      SimulationJob.Deployed deployed = m == ModelOutputs.Mode.INTEGER
          ? new SimulationJob.Deployed(deploy.deployModel(), ModelBlob.sha256(deploy.deployModel())) : null;
      ModelOutputs.Spec spec = new ModelOutputs.Spec(m, blob(m), deployed, rec.input());
      List<String> outputs = sig.outputs().stream().map(ModelSignature.Port::name).toList();
      return df.mapPartitions(new Apply(images, index, pixels, rec.itemShape(), batch, spec, outputs, uid), Encoders.row(out));
    } catch (RuntimeException e) {
      throw Errors.api(e);
    }
  }

  /** How tasks read the column: its kind from the schema, the layout of pixels from the first images. */
  private ImageColumn images(Dataset<Row> df, String column, InputPreprocessing rec) {
    StructField f = Errors.imageColumn(df.schema(), column, uid);
    ImageColumn.Kind kind = ImageColumn.kind(f, false, uid);
    int[] s = rec.itemShape();
    ImageLayout input = new ImageLayout(s.length == 3 ? s[0] : 1, s.length == 3 ? s[1] : 1,
        s.length == 3 ? s[2] : (int) Arrays.stream(s).asLongStream().reduce(1, (a, b) -> a * b), false);
    if (kind == ImageColumn.Kind.VALUES) return ImageColumn.ofValues(column, input);
    if (rec.source() != InputPreprocessing.Source.PIXELS) {
      throw new IllegalArgumentException(uid + ": the model was fitted on model inputs, not pixels; column '" + column
          + "' (Param imageCol) must hold model inputs (array<float>) too");
    }
    List<Row> first = df.select(col(column)).where(col(column).isNotNull()).limit(Decoding.PROBES).collectAsList();
    if (first.isEmpty()) return ImageColumn.ofValues(column, input); // no image to read
    return ImageColumn.probe(column, kind, first.iterator(), 0, -1, rec.geometry(), true, null, "column '" + column + "'");
  }

  /** The first images, made inputs as recorded, must have the model input's shape. */
  private void checkShape(ImageColumn images, Preprocessing pixels, InputPreprocessing rec) {
    ImageLayout l = images.layout();
    int[] want = rec.itemShape();
    String column = "column '" + $(imageCol) + "' (Param imageCol)";
    if (images.preprocessed()) {
      if (l.size() != Arrays.stream(want).asLongStream().reduce(1, (a, b) -> a * b)) {
        throw new IllegalArgumentException(uid + ": " + column + " must hold " + Tensor.shapeString(want) + " model inputs");
      }
      return;
    }
    try {
      pixels.check(l);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(uid + ": " + column + ": " + Errors.params(e.getMessage()), e);
    }
    int c = pixels.outputChannels(l.channels());
    if (want.length != 3 || want[0] != c || want[1] != l.height() || want[2] != l.width()) {
      String after = rec.geometry().isNone() ? "" : " after " + rec.geometry().describe();
      throw new IllegalArgumentException(uid + ": " + column + " holds images of " + c + "x" + l.height() + "x" + l.width()
          + after + " but the model's input '" + rec.input() + "' takes " + Tensor.shapeString(want)
          + " (the calibration images' size)");
    }
  }

  /** In a task: the rows of a partition with the outputs of their images, a mini-batch at a time. */
  private record Apply(ImageColumn images, int index, Preprocessing pixels, int[] itemShape, int batch,
      ModelOutputs.Spec spec, List<String> outputs, String what) implements MapPartitionsFunction<Row, Row> {
    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      ModelOutputs[] models = {null};
      return new BatchedRows<>(() -> {
        if (!rows.hasNext()) return null;
        List<Row> in = new ArrayList<>(batch);
        while (in.size() < batch && rows.hasNext()) in.add(rows.next());
        return apply(in, models);
      });
    }

    /** One mini-batch of rows with their images' outputs (the models loaded on first use). */
    private List<Row> apply(List<Row> in, ModelOutputs[] models) {
      int per = 1;
      for (int d : itemShape) per *= d;
      List<Integer> with = new ArrayList<>();
      for (int i = 0; i < in.size(); i++) if (!in.get(i).isNullAt(index)) with.add(i);
      float[] x = new float[with.size() * per];
      ImageLayout layout = images.preprocessed() ? null : images.layout();
      for (int k = 0; k < with.size(); k++) {
        LabeledImage image = images.read(in.get(with.get(k)), index, -1, -1, what);
        if (image.values() != null) System.arraycopy(image.values(), 0, x, k * per, per);
        else pixels.apply(image.pixels(), layout, x, k * per);
      }
      Map<String, Tensor> y = null;
      if (!with.isEmpty()) {
        if (models[0] == null) models[0] = ModelOutputs.open(spec);
        int[] shape = new int[itemShape.length + 1];
        shape[0] = with.size();
        System.arraycopy(itemShape, 0, shape, 1, itemShape.length);
        y = models[0].run(Tensor.of(x, shape));
      }
      List<Row> out = new ArrayList<>(in.size());
      int k = 0;
      for (int i = 0; i < in.size(); i++) {
        Row r = in.get(i);
        Object[] v = new Object[r.length() + outputs.size()];
        for (int j = 0; j < r.length(); j++) v[j] = r.get(j);
        boolean has = k < with.size() && with.get(k) == i;
        for (int o = 0; o < outputs.size(); o++) {
          v[r.length() + o] = has ? PredictionJob.item(y.get(outputs.get(o)), k, with.size()) : null;
        }
        if (has) k++;
        out.add(RowFactory.create(v));
      }
      return out;
    }
  }

  @Override
  public QuantizedModel copy(ParamMap extra) {
    QuantizedModel m = copyValues(new QuantizedModel(uid, calibration, deploy, notDeployed), extra);
    return m.setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<QuantizedModel> read() {
    return new Reader();
  }

  public static QuantizedModel load(String path) {
    return read().load(path);
  }

  /** Spark's metadata (the Params) and the model's folders. */
  private static final class Writer extends MLWriter {
    private final QuantizedModel model;

    Writer(QuantizedModel model) {
      this.model = model;
    }

    @Override
    public void saveImpl(String path) {
      StagePersistence.saveMetadata(model, path, this);
      try {
        SparkStageFolder.write(path, model.calibration, model.deploy);
      } catch (RuntimeException e) {
        throw Errors.api(e);
      }
    }
  }

  private static final class Reader extends MLReader<QuantizedModel> {
    @Override
    public QuantizedModel load(String path) {
      try {
        DefaultParamsReader.Metadata meta = StagePersistence.loadMetadata(path, this, QuantizedModel.class);
        SparkStageFolder.Saved saved = SparkStageFolder.read(path);
        QuantizedModel m = new QuantizedModel(meta.uid(), saved.calibration(), saved.deploy().orElse(null),
            saved.deploy().isPresent() ? null : "the saved model has no deploy folder (it did not compile when fitted)");
        meta.getAndSetParams(m, Option.empty());
        return m;
      } catch (RuntimeException e) {
        throw Errors.api(e);
      }
    }
  }
}

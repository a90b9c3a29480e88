package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.regexp_extract;

import io.qspark.job.app.Calibrate;
import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.DataSettings;
import io.qspark.job.app.Deploy;
import io.qspark.job.app.DeploySettings;
import io.qspark.job.app.Evaluate;
import io.qspark.job.app.EvaluateSettings;
import io.qspark.job.app.ModelSettings;
import io.qspark.job.app.OutputSettings;
import io.qspark.job.app.Simulate;
import io.qspark.job.app.SimulateSettings;
import io.qspark.job.ml.QatQuantizer;
import io.qspark.job.ml.QuantizedModel;
import io.qspark.job.ml.Quantizer;
import io.qspark.job.preprocess.PreprocessSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * qspark as Spark ML stages, end to end: a Pipeline with the Quantizer fitted on a DataFrame of
 * Spark's image data source over a PNG folder, saved, loaded in a new Spark session and
 * applied; its integer and fakequant columns are compared, image by image and bit for bit, with
 * what the application layer's simulate and evaluate write for the same images (a calibration,
 * deploy and simulation of the folder read by qspark's own image-folder source, with the
 * preprocessing given as the command line takes it). Also the API's errors for bad input.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class SparkMlPipelineTest {
  private static final int IMAGES = 60;
  private static final double[] MEAN = {TestData.MEAN};
  private static final double[] STD = {TestData.STD};

  @TempDir static Path dir;
  static Path png;
  static SparkSession spark;

  @BeforeAll
  static void images() throws Exception {
    FashionSubset s = FashionSubset.load();
    s.images.subList(IMAGES, s.images.size()).clear();
    s.labels.subList(IMAGES, s.labels.size()).clear();
    png = s.writeFolder(dir.resolve("png"), "png", FashionSubset::gray);
    spark = session();
  }

  @AfterAll
  static void stop() {
    if (spark != null) spark.stop();
  }

  static SparkSession session() {
    return SparkSession.builder().master("local[2]").appName("qspark ml test").config("spark.ui.enabled", "false")
        .config("spark.driver.host", "localhost").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
  }

  static Dataset<Row> images(SparkSession s, Path folder) {
    return s.read().format("image").option("recursiveFileLookup", "true").load(folder.toString());
  }

  /** The class folder and file name of an image ("0-tshirt/0003.png"), from a path or URI. */
  static String key(String name) {
    String[] p = name.replace('\\', '/').split("/");
    return p[p.length - 2] + "/" + p[p.length - 1];
  }

  static Quantizer quantizer() {
    return new Quantizer().setModelPath(Run.sampleModel()).setMean(MEAN).setStd(STD).setBatchSize(16);
  }

  @Test
  void pipelineSavedLoadedAndAppliedEqualsSimulateAndEvaluate() throws Exception {
    PipelineModel fitted = new Pipeline().setStages(new PipelineStage[] {quantizer()}).fit(images(spark, png));
    String saved = dir.resolve("pipeline").toString();
    fitted.write().save(saved);
    spark.stop();

    // a new session reads the saved pipeline and applies it
    spark = session();
    PipelineModel loaded = PipelineModel.load(saved);
    QuantizedModel qm = (QuantizedModel) loaded.stages()[0];
    String output = qm.outputCols().get(0);
    Map<String, float[]> integer = column(loaded, qm.setMode("integer"), output);
    Map<String, float[]> fakequant = column(loaded, qm.setMode("fakequant"), output);
    assertEquals(IMAGES, integer.size());

    // the same through the application layer, from the PNG folder as qspark's own source reads it
    PreprocessSettings pre = new PreprocessSettings(new float[] {TestData.MEAN}, new float[] {TestData.STD}, null, null,
        null, null, false);
    String cal = dir.resolve("calibration").toString(), dep = dir.resolve("deploy").toString();
    new Calibrate().run(CalibrateSettings.of(ModelSettings.of(Run.sampleModel()), DataSettings.of(png.toString()),
        OutputSettings.of(cal)).withPreprocess(pre));
    new Deploy().run(DeploySettings.of(cal, OutputSettings.of(dep)));
    String simulated = dir.resolve("simulated").toString(), evaluated = dir.resolve("evaluated").toString();
    new Simulate().run(SimulateSettings.of(dep, DataSettings.of(png.toString())).withPredictions(OutputSettings.of(simulated)));
    new Evaluate().run(EvaluateSettings.of(ModelSettings.of(cal), DataSettings.of(png.toString()))
        .withPredictions(OutputSettings.of(evaluated)));

    Map<String, float[]> simulate = predictions(simulated, output);
    Map<String, float[]> evaluate = predictions(evaluated, output);
    assertEquals(integer.keySet(), simulate.keySet());
    assertEquals(fakequant.keySet(), evaluate.keySet());
    for (String k : integer.keySet()) {
      assertArrayEquals(simulate.get(k), integer.get(k), "integer column of " + k + " against simulate's outputs");
      assertArrayEquals(evaluate.get(k), fakequant.get(k), "fakequant column of " + k + " against evaluate's outputs");
    }
    // and the float column is the float model's, which differs from fake-quant somewhere
    Map<String, float[]> floats = column(loaded, qm.setMode("float"), output);
    assertTrue(floats.keySet().stream().anyMatch(k -> !java.util.Arrays.equals(floats.get(k), fakequant.get(k))));

    // the saved model's folders are the command line's: simulate reads its deploy folder
    Path savedDeploy;
    try (Stream<Path> stages = Files.list(Path.of(saved, "stages"))) {
      savedDeploy = stages.findFirst().orElseThrow().resolve("deploy");
    }
    Run r = Run.of("simulate", "--deploy", savedDeploy.toString(), "--data", png.toString(), "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("mismatches: 0"), r.out());
  }

  private static Map<String, float[]> column(PipelineModel p, QuantizedModel qm, String output) {
    Map<String, float[]> m = new HashMap<>();
    for (Row r : p.transform(images(spark, png)).select("image.origin", output).collectAsList()) {
      m.put(key(r.getString(0)), floats(r.getList(1)));
    }
    return m;
  }

  private static Map<String, float[]> predictions(String table, String output) {
    Map<String, float[]> m = new HashMap<>();
    for (Row r : spark.read().parquet(table).select("name", output).collectAsList()) m.put(key(r.getString(0)), floats(r.getList(1)));
    return m;
  }

  private static float[] floats(List<Object> l) {
    float[] f = new float[l.size()];
    for (int i = 0; i < f.length; i++) f[i] = ((Number) l.get(i)).floatValue();
    return f;
  }

  /**
   * The QAT Estimator trains on the labelled rows (labels from the class folders) and its model
   * is the command line's: the fakequant column equals what evaluate writes for the saved
   * model's calibration folder; the trained float model is not the one given. A missing label
   * column is an IllegalArgumentException naming labelCol.
   */
  @Test
  void qatQuantizerTrainsOnLabelledRows() throws Exception {
    Dataset<Row> df = images(spark, png).withColumn("label",
        regexp_extract(col("image.origin"), "/(\\d)-[^/]*/[^/]*$", 1).cast("int"));
    QatQuantizer q = new QatQuantizer().setModelPath(Run.sampleModel()).setMean(MEAN).setStd(STD).setBatchSize(16)
        .setCalibSize(32).setTrainBatchSize(32).setMicroBatch(16).setLr(0.01);
    IllegalArgumentException noLabel = assertThrows(IllegalArgumentException.class, () -> q.copy(new org.apache.spark.ml.param.ParamMap())
        .setLabelCol("class").fit(df));
    assertTrue(noLabel.getMessage().contains("'class'") && noLabel.getMessage().contains("labelCol"), noLabel.getMessage());

    QuantizedModel m = q.fit(df);
    String saved = dir.resolve("qat-model").toString();
    m.write().save(saved);
    String evaluated = dir.resolve("qat-evaluated").toString();
    new Evaluate().run(EvaluateSettings.of(ModelSettings.of(saved + "/calibration"), DataSettings.of(png.toString()))
        .withPredictions(OutputSettings.of(evaluated)));
    String output = m.outputCols().get(0);
    Map<String, float[]> fakequant = new HashMap<>();
    for (Row r : m.setMode("fakequant").transform(df).select("image.origin", output).collectAsList()) {
      fakequant.put(key(r.getString(0)), floats(r.getList(1)));
    }
    Map<String, float[]> evaluate = predictions(evaluated, output);
    assertEquals(evaluate.keySet(), fakequant.keySet());
    for (String k : evaluate.keySet()) assertArrayEquals(evaluate.get(k), fakequant.get(k), k);
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(Path.of(Run.sampleModel())),
        Files.readAllBytes(Path.of(saved, "calibration", "float_model.onnx"))), "the float model was trained");
  }

  @Test
  void badInputIsAnIllegalArgumentExceptionNamingWhatToFix() throws Exception {
    Dataset<Row> df = images(spark, png);
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> quantizer().setImageCol("picture").fit(df));
    assertTrue(missing.getMessage().contains("'picture'") && missing.getMessage().contains("imageCol"), missing.getMessage());

    IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> quantizer().setCalibSize(0));
    assertTrue(range.getMessage().contains("calibSize"), range.getMessage());
    assertThrows(IllegalArgumentException.class, () -> quantizer().setMode("int8"));
    IllegalArgumentException unset = assertThrows(IllegalArgumentException.class,
        () -> new Quantizer().setMean(MEAN).fit(df));
    assertTrue(unset.getMessage().contains("modelPath"), unset.getMessage());

    // a model fitted on 28x28 images, applied to 32x32 ones
    QuantizedModel m = quantizer().setCalibSize(8).fit(df);
    FashionSubset s = FashionSubset.load();
    s.images.subList(4, s.images.size()).clear();
    s.labels.subList(4, s.labels.size()).clear();
    Path framed = s.writeFolder(dir.resolve("framed"), "png", FashionSubset::framed);
    IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> m.transform(images(spark, framed)));
    assertTrue(size.getMessage().contains("'image'") && size.getMessage().contains("1x32x32"), size.getMessage());

    // a saved model of a newer stage format
    String path = dir.resolve("newer").toString();
    m.write().save(path);
    Path meta;
    try (Stream<Path> files = Files.list(Path.of(path, "metadata"))) {
      meta = files.filter(f -> f.getFileName().toString().startsWith("part-")).findFirst().orElseThrow();
    }
    String json = Files.readString(meta, StandardCharsets.UTF_8);
    assertTrue(json.contains("\"qsparkStageFormat\":1"), json);
    Files.writeString(meta, json.replace("\"qsparkStageFormat\":1", "\"qsparkStageFormat\":99"));
    Files.deleteIfExists(meta.resolveSibling("." + meta.getFileName() + ".crc"));
    IllegalArgumentException newer = assertThrows(IllegalArgumentException.class, () -> QuantizedModel.load(path));
    assertTrue(newer.getMessage().contains("newer") && newer.getMessage().contains("99"), newer.getMessage());
    assertFalse(newer.getMessage().contains("\n"), newer.getMessage());
  }
}

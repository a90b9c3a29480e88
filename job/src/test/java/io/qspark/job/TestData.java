package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The same images (the Fashion-MNIST classes 0-2 of the bundled sample, about 300) as an IDX
 * file, a PNG folder and Parquet, written once per test JVM (the test classes that use them
 * share the work), with the results of evaluating the IDX file to compare every other source to.
 */
final class TestData {
  static final float MEAN = 72.94f;
  static final float STD = 90.02f;

  private static TestData instance;

  final Path dir;
  final FashionSubset subset;
  final Path idx;
  final Path png;
  /** The per-class table and top-k lines of evaluating the IDX file. */
  final List<String> expected;
  private Path parquet;

  private TestData() throws IOException {
    dir = Files.createTempDirectory("qspark-test-data");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
    subset = FashionSubset.load();
    idx = subset.writeIdx(dir.resolve("idx"));
    png = subset.writeFolder(dir.resolve("png"), "png", FashionSubset::gray);
    expected = EvaluateSparkTest.results(evaluate(idx.toString()));
  }

  static synchronized TestData get() {
    try {
      if (instance == null) instance = new TestData();
      return instance;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String[] args(String data, String... extra) {
    List<String> a = new ArrayList<>(List.of("evaluate", "--model", Run.sampleModel(), "--data", data,
        "--master", "local[2]"));
    if (!Arrays.asList(extra).contains("inputs")) {
      a.addAll(List.of("--mean", Float.toString(MEAN), "--std", Float.toString(STD)));
    }
    a.addAll(List.of(extra));
    return a.toArray(new String[0]);
  }

  /** A successful evaluate (with the models' --mean and --std, unless the column "inputs" is read). */
  static Run evaluate(String data, String... extra) {
    Run r = Run.of(args(data, extra));
    assertEquals(0, r.code(), r.err());
    return r;
  }

  /** An evaluate that fails with exit code 2 and one line; returns the line. */
  static String failure(String data, String... extra) {
    Run r = Run.of(args(data, extra));
    assertEquals(2, r.code(), r.err());
    assertEquals(1, r.errorLines().size(), "one line: " + r.err());
    assertTrue(r.err().startsWith("qspark: error: "), r.err());
    return r.errorLines().get(0);
  }

  void assertSameResults(Run r) {
    assertEquals(expected, EvaluateSparkTest.results(r), r.out());
  }

  static String dataLine(Run r) {
    return r.out().lines().filter(l -> l.startsWith("data")).findFirst().orElseThrow();
  }

  static SparkSession session() {
    return SparkSession.builder().master("local[2]").config("spark.ui.enabled", "false")
        .config("spark.driver.host", "localhost").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
  }

  /** The images as Parquet, 3 part files: preprocessed inputs, PNG bytes, raw pixels and the label. */
  synchronized Path parquet() {
    if (parquet != null) return parquet;
    StructType schema = new StructType()
        .add("inputs", DataTypes.createArrayType(DataTypes.FloatType))
        .add("png", DataTypes.BinaryType)
        .add("pixels", DataTypes.createArrayType(DataTypes.IntegerType))
        .add("label", DataTypes.IntegerType);
    List<Row> rows = new ArrayList<>();
    try {
      for (int i = 0; i < subset.size(); i++) {
        byte[] px = subset.images.get(i);
        Float[] x = new Float[784];
        Integer[] p = new Integer[784];
        for (int k = 0; k < 784; k++) {
          p[k] = px[k] & 0xff;
          x[k] = (p[k] - MEAN) / STD; // the same float arithmetic as Preprocessing
        }
        rows.add(RowFactory.create(x, FashionSubset.png(px), p, subset.labels.get(i)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path out = dir.resolve("fm.parquet");
    SparkSession spark = session();
    try {
      spark.createDataFrame(rows, schema).repartition(3).write().parquet(out.toUri().toString());
    } finally {
      spark.stop(); // or the next evaluate would reuse it, with a warning on stderr
    }
    return parquet = out;
  }

  static Path copy(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(t);
        else Files.copy(p, t);
      }
    }
    return to;
  }

  private static void delete(Path dir) {
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      // a temporary folder left behind
    }
  }
}

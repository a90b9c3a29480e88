package io.qspark.job.data;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.preprocess.Pixels;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import java.io.Serializable;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructField;

/**
 * Images in a Spark table: Parquet files (one, or a folder of part files) or a catalog table.
 * The image column holds model inputs (array&lt;float|double&gt;, C,H,W), raw pixels
 * (array&lt;int&gt; or binary of C*H*W bytes, planar, with --dims), or encoded PNG/JPEG bytes
 * (binary without --dims); the label column integer class indices. The driver reads only the
 * schema, the row count and a few rows; executors read and decode the rest.
 */
public final class TableSource implements DataSource {
  /** What the image column holds. */
  enum Kind {
    VALUES("model inputs"), PIXEL_ARRAY("raw pixels"), PIXEL_BYTES("raw pixels"), ENCODED("encoded images");

    final String what;

    Kind(String what) {
      this.what = what;
    }
  }

  private final String what;
  private final Dataset<Row> rows;
  private final Kind kind;
  private final String imageColumn;
  private final String labelColumn;
  private final List<String> columns;
  private final ImageLayout stored;
  private final ImageShaping shaping;
  private final long count;
  private final boolean strict;
  /** Set by {@link #images}; read after the job for the warning. */
  private SkippedImages skipped;

  private TableSource(String what, Dataset<Row> rows, Kind kind, String imageColumn, String labelColumn,
      List<String> columns, ImageLayout stored, ImageShaping shaping, long count, boolean strict) {
    this.what = what;
    this.rows = rows;
    this.kind = kind;
    this.imageColumn = imageColumn;
    this.labelColumn = labelColumn;
    this.columns = columns;
    this.stored = stored;
    this.shaping = shaping;
    this.count = count;
    this.strict = strict;
  }

  public static TableSource parquet(DataRequest req, Path path, SparkSession spark) {
    String what = HadoopFiles.display(path);
    return open(req, what, () -> spark.read().parquet(path.toString()), true);
  }

  public static TableSource table(DataRequest req, String name, SparkSession spark) {
    return open(req, "table " + name, () -> spark.table(name), false);
  }

  private interface Reader {
    Dataset<Row> read();
  }

  private static TableSource open(DataRequest req, String what, Reader reader, boolean files) {
    try {
      return build(req, what, reader.read(), files);
    } catch (Exception e) { // AnalysisException is checked in Java's eyes but thrown undeclared from Scala
      RuntimeException user = UserError.findIn(e);
      if (user != null) throw user;
      // Spark's word for "no such table", "not Parquet", unreadable footers and the like
      if (e instanceof AnalysisException || e.getClass().getName().startsWith("org.apache.spark")) {
        throw new UserError("cannot read " + what + ": " + JobFailure.firstLine(e), e);
      }
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
  }

  private static TableSource build(DataRequest req, String what, Dataset<Row> df, boolean files) {
    List<String> columns = List.of(df.columns());
    StructField image = field(df, req.imageColumn(), what, "--image-column");
    String labelName = req.labelColumn() != null ? req.labelColumn()
        : has(df, DataRequest.DEFAULT_LABEL_COLUMN) ? DataRequest.DEFAULT_LABEL_COLUMN : null;
    StructField label = labelName == null ? null : field(df, labelName, what, "--label-column");
    if (label != null && !integral(label.dataType())) {
      throw new UserError(what + ": column '" + label.name() + "' is " + label.dataType().simpleString()
          + "; labels must be integer class indices (name the label column with --label-column)");
    }
    Kind kind = kind(image, req.dims() != null, what);
    int[] dims = req.dims();
    if ((kind == Kind.PIXEL_ARRAY || kind == Kind.PIXEL_BYTES) && dims == null) {
      throw new UserError(what + ": column '" + image.name() + "' holds raw pixels; give their shape with --dims C,H,W");
    }
    if (kind == Kind.VALUES && !req.geometry().isNone()) {
      throw new UserError(what + ": column '" + image.name() + "' holds model inputs; --resize and --crop do not apply");
    }

    Column imageCol = col(image.name());
    if (kind == Kind.VALUES) imageCol = imageCol.cast("array<float>");
    if (kind == Kind.PIXEL_ARRAY) imageCol = imageCol.cast("array<int>");
    Column labelCol = label == null ? lit(null).cast("int") : col(label.name()).cast("int");
    Dataset<Row> rows = df.select(imageCol.as("image"), labelCol.as("label"), rowName(df, files).as("name"));
    if (req.limit() >= 0) rows = rows.limit(req.limit());
    long count = rows.count();
    if (count == 0) throw new UserError(what + " holds no images (no rows)");

    ImageLayout stored = null;
    ImageShaping shaping = null;
    switch (kind) {
      case VALUES -> {
        if (dims != null) {
          stored = new ImageLayout(dims[0], dims[1], dims[2], false);
        } else { // the data does not say, so the first row does; the model's input shape is checked against it
          List<Row> first = rows.where(col("image").isNotNull()).selectExpr("size(image)").takeAsList(1);
          if (first.isEmpty()) throw new UserError(what + ": column '" + image.name() + "' is null in every row");
          stored = new ImageLayout(1, 1, first.get(0).getInt(0), false);
        }
      }
      case PIXEL_ARRAY, PIXEL_BYTES -> {
        stored = new ImageLayout(dims[0], dims[1], dims[2], false);
        shaping = ImageShaping.of(stored, req.geometry());
      }
      case ENCODED -> {
        List<Row> probes = rows.select("image", "name").limit(Decoding.PROBES).collectAsList();
        shaping = Decoding.probe(probes.iterator(), r -> r.isNullAt(1) ? what : r.getString(1),
            r -> r.isNullAt(0) ? new byte[0] : (byte[]) r.get(0), req.geometry(), req.strict(), what);
      }
      default -> throw new AssertionError(kind);
    }
    return new TableSource(what, rows, kind, image.name(), label == null ? null : label.name(), columns,
        stored, shaping, count, req.strict());
  }

  private static boolean has(Dataset<Row> df, String name) {
    for (StructField f : df.schema().fields()) if (f.name().equalsIgnoreCase(name)) return true;
    return false;
  }

  /** The column, as Spark resolves names (case-insensitively unless configured otherwise). */
  private static StructField field(Dataset<Row> df, String name, String what, String flag) {
    StructField loose = null;
    for (StructField f : df.schema().fields()) {
      if (f.name().equals(name)) return f;
      if (loose == null && f.name().equalsIgnoreCase(name)) loose = f;
    }
    if (loose != null) return loose;
    throw new UserError(what + " has no column '" + name + "' (its columns: " + String.join(", ", df.columns())
        + "); name it with " + flag);
  }

  private static boolean integral(DataType t) {
    return t instanceof IntegerType || t instanceof LongType || t instanceof ShortType || t instanceof ByteType;
  }

  private static Kind kind(StructField f, boolean dims, String what) {
    DataType t = f.dataType();
    if (t instanceof ArrayType a) {
      DataType e = a.elementType();
      if (e instanceof FloatType || e instanceof DoubleType) return Kind.VALUES;
      if (integral(e)) return Kind.PIXEL_ARRAY;
    }
    if (t instanceof BinaryType) return dims ? Kind.PIXEL_BYTES : Kind.ENCODED;
    throw new UserError(what + ": column '" + f.name() + "' is " + t.simpleString() + "; images must be"
        + " array<float> (model inputs), array<int> or binary (raw pixels, with --dims) or binary (PNG/JPEG)");
  }

  /**
   * What names a row in errors and warnings: its file and position where Spark knows them (file
   * sources), else nothing (tasks then say which table).
   */
  private static Column rowName(Dataset<Row> df, boolean files) {
    try {
      Column name = concat(col("_metadata.file_name"), lit(" row "), col("_metadata.row_index"));
      df.select(name).schema(); // resolves now, or throws for sources without file metadata
      return name;
    } catch (Exception e) { // AnalysisException, undeclared
      if (files || !(e instanceof AnalysisException)) throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
      return lit(null).cast("string");
    }
  }

  @Override
  public String describe() {
    String shape = switch (kind) {
      case VALUES -> stored.channels() == 1 && stored.height() == 1 ? stored.width() + " values" : stored.describe();
      case PIXEL_ARRAY, PIXEL_BYTES -> stored.describe() + (shaping.layout().equals(stored) ? "" : " to " + shaping.layout().describe());
      case ENCODED -> shaping.layout().describe();
    };
    String labels = labelColumn == null ? "unlabelled" : "labels from column '" + labelColumn + "'";
    String skip = skipped == null || skipped.count() == 0 ? ""
        : String.format(Locale.ROOT, ", %,d undecodable skipped", skipped.count());
    return String.format(Locale.ROOT, "%s: %,d rows, column '%s' (%s %s), %s%s", what, count, imageColumn,
        kind.what, shape, labels, skip);
  }

  @Override
  public Digest digest() {
    return Digest.ofText("name, columns and row count", what + "\n" + rows.schema().json() + "\n" + count);
  }

  @Override
  public ImageLayout layout() {
    return kind == Kind.VALUES ? stored : shaping.layout();
  }

  @Override
  public long count() {
    return count;
  }

  @Override
  public boolean preprocessed() {
    return kind == Kind.VALUES;
  }

  @Override
  public void requireLabels(int classes) {
    if (labelColumn == null) {
      throw new UserError(what + " has no label column; name it with --label-column (its columns: "
          + String.join(", ", columns) + ")");
    }
  }

  @Override
  public JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions) {
    skipped = SkippedImages.register(sc);
    // Spark's own splits where they match; otherwise merge them (no shuffle), or spread a few
    // large splits over more tasks, which shuffles only the stored (compressed) images
    int natural = rows.javaRDD().getNumPartitions();
    Dataset<Row> parts = natural > partitions ? rows.coalesce(partitions)
        : natural < partitions ? rows.repartition(partitions) : rows;
    Decoding decoding = shaping == null ? null : new Decoding(shaping, strict, skipped);
    return parts.javaRDD().flatMap(new RowToImage(what, kind, imageColumn, labelColumn, stored, decoding));
  }

  @Override
  public Optional<String> skippedWarning() {
    return skipped == null ? Optional.empty() : skipped.warning(count);
  }

  /** In a task: one row (image, label, name) to an image; none when it cannot be decoded. */
  private record RowToImage(String what, Kind kind, String imageColumn, String labelColumn, ImageLayout stored,
      Decoding decoding) implements FlatMapFunction<Row, LabeledImage>, Serializable {

    @Override
    public Iterator<LabeledImage> call(Row row) {
      String name = row.isNullAt(2) ? "a row of " + what : row.getString(2);
      int label = -1;
      if (labelColumn != null) {
        if (row.isNullAt(1)) throw new UserError(name + " has no label (null in column '" + labelColumn + "')");
        label = row.getInt(1);
      }
      if (row.isNullAt(0)) throw new UserError(name + " has no image (null in column '" + imageColumn + "')");
      LabeledImage image = switch (kind) {
        case VALUES -> LabeledImage.ofValues(name, values(name, row.getList(0)), label);
        case PIXEL_ARRAY -> decoding.shaping().shape(name, pixels(name, pixelBytes(name, row.getList(0))), label);
        case PIXEL_BYTES -> decoding.shaping().shape(name, pixels(name, (byte[]) row.get(0)), label);
        case ENCODED -> decoding.decode(name, (byte[]) row.get(0), label);
      };
      return image == null ? Collections.emptyIterator() : List.of(image).iterator();
    }

    private float[] values(String name, List<Float> list) {
      if (list.size() != stored.size()) throw wrongSize(name, list.size(), "values");
      float[] v = new float[list.size()];
      for (int i = 0; i < v.length; i++) {
        Float f = list.get(i);
        if (f == null) throw new UserError(name + " has a null value in column '" + imageColumn + "'");
        v[i] = f;
      }
      return v;
    }

    private byte[] pixelBytes(String name, List<Integer> list) {
      byte[] b = new byte[list.size()];
      for (int i = 0; i < b.length; i++) {
        Integer p = list.get(i);
        if (p == null || p < 0 || p > 255) {
          throw new UserError(name + ": pixel " + p + " in column '" + imageColumn + "' is not 0..255");
        }
        b[i] = (byte) (int) p;
      }
      return b;
    }

    private Pixels pixels(String name, byte[] b) {
      if (b.length != stored.size()) throw wrongSize(name, b.length, "pixels");
      return new Pixels(stored.channels(), stored.height(), stored.width(), b);
    }

    private UserError wrongSize(String name, int n, String unit) {
      String expected = stored.channels() == 1 && stored.height() == 1 ? "the first row's " + stored.size()
          : stored.size() + " (--dims " + stored.describe() + ")";
      return new UserError(name + " has " + n + " " + unit + " in column '" + imageColumn + "', not " + expected);
    }
  }
}

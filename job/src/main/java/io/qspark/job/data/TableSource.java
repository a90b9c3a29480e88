package io.qspark.job.data;

import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelSignature;
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
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;

/**
 * Images in a Spark table: Parquet files (one, or a folder of part files) or a catalog table
 * (a temporary view too). The image column holds what {@link ImageColumn} reads: model inputs,
 * raw pixels (with --dims), encoded PNG/JPEG bytes, or the struct of Spark's image data source;
 * the label column integer class indices. The driver reads only the
 * schema, the row count and a few rows; executors read and decode the rest.
 */
public final class TableSource implements DataSource {
  private final String what;
  private final Dataset<Row> rows;
  private final ImageColumn.Kind kind;
  private final String imageColumn;
  private final String labelColumn;
  private final List<String> columns;
  /** How tasks read the image column; its skipped-image counter is set by {@link #images}. */
  private ImageColumn column;
  private final long count;
  /** Set by {@link #images}; read after the job for the warning. */
  private SkippedImages skipped;

  private TableSource(String what, Dataset<Row> rows, ImageColumn.Kind kind, String imageColumn, String labelColumn,
      List<String> columns, ImageColumn column, long count) {
    this.what = what;
    this.rows = rows;
    this.kind = kind;
    this.imageColumn = imageColumn;
    this.labelColumn = labelColumn;
    this.columns = columns;
    this.column = column;
    this.count = count;
  }

  /** @param model the model fed: with --input-columns, one column per input of it */
  public static DataSource parquet(DataRequest req, Path path, SparkSession spark, ModelSignature model) {
    String what = HadoopFiles.display(path);
    return open(req, what, () -> spark.read().parquet(path.toString()), true, model);
  }

  public static DataSource table(DataRequest req, String name, SparkSession spark, ModelSignature model) {
    return open(req, "table " + name, () -> spark.table(name), false, model);
  }

  private interface Reader {
    Dataset<Row> read();
  }

  private static DataSource open(DataRequest req, String what, Reader reader, boolean files, ModelSignature model) {
    try {
      Dataset<Row> df = reader.read();
      if (!req.inputColumns().isEmpty()) return InputColumnsSource.build(req, what, df, rowName(df, files), model);
      return build(req, what, df, files);
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
    if (label != null && !ImageColumn.integral(label.dataType())) {
      throw new UserError(what + ": column '" + label.name() + "' is " + label.dataType().simpleString()
          + "; labels must be integer class indices (name the label column with --label-column)");
    }
    ImageColumn.Kind kind = ImageColumn.kind(image, req.dims() != null, what);
    int[] dims = req.dims();
    if ((kind == ImageColumn.Kind.PIXEL_ARRAY || kind == ImageColumn.Kind.PIXEL_BYTES) && dims == null) {
      throw new UserError(what + ": column '" + image.name() + "' holds raw pixels; give their shape with --dims C,H,W");
    }
    if (kind == ImageColumn.Kind.VALUES && !req.geometry().isNone()) {
      throw new UserError(what + ": column '" + image.name() + "' holds model inputs; --resize and --crop do not apply");
    }

    Column imageCol = col(image.name());
    if (kind == ImageColumn.Kind.VALUES) imageCol = imageCol.cast("array<float>");
    if (kind == ImageColumn.Kind.PIXEL_ARRAY) imageCol = imageCol.cast("array<int>");
    Column labelCol = label == null ? lit(null).cast("int") : col(label.name()).cast("int");
    Dataset<Row> rows = df.select(imageCol.as("image"), labelCol.as("label"), rowName(df, files).as("name"));
    if (req.limit() >= 0) rows = rows.limit(req.limit());
    long count = rows.count();
    if (count == 0) throw new UserError(what + " holds no images (no rows)");

    ImageColumn column = switch (kind) {
      case VALUES -> {
        if (dims != null) yield ImageColumn.ofValues(image.name(), new ImageLayout(dims[0], dims[1], dims[2], false));
        // the data does not say, so the first row does; the model's input shape is checked against it
        List<Row> first = rows.where(col("image").isNotNull()).selectExpr("size(image)").takeAsList(1);
        if (first.isEmpty()) throw new UserError(what + ": column '" + image.name() + "' is null in every row");
        yield ImageColumn.ofValues(image.name(), new ImageLayout(1, 1, first.get(0).getInt(0), false));
      }
      case PIXEL_ARRAY, PIXEL_BYTES -> ImageColumn.ofPixels(image.name(), kind, new ImageLayout(dims[0], dims[1], dims[2], false),
          req.geometry(), req.strict(), null);
      case ENCODED, IMAGE_STRUCT -> ImageColumn.probe(image.name(), kind,
          rows.select("image", "name").limit(Decoding.PROBES).collectAsList().iterator(), 0, 1, req.geometry(), req.strict(),
          null, what);
    };
    return new TableSource(what, rows, kind, image.name(), label == null ? null : label.name(), columns, column, count);
  }

  private static boolean has(Dataset<Row> df, String name) {
    for (StructField f : df.schema().fields()) if (f.name().equalsIgnoreCase(name)) return true;
    return false;
  }

  /** The column, as Spark resolves names (case-insensitively unless configured otherwise). */
  static StructField field(Dataset<Row> df, String name, String what, String flag) {
    StructField loose = null;
    for (StructField f : df.schema().fields()) {
      if (f.name().equals(name)) return f;
      if (loose == null && f.name().equalsIgnoreCase(name)) loose = f;
    }
    if (loose != null) return loose;
    throw new UserError(what + " has no column '" + name + "' (its columns: " + String.join(", ", df.columns())
        + "); name it with " + flag);
  }

  /**
   * What names a row in errors and warnings: its file and position where Spark knows them (file
   * sources), else nothing (tasks then say which table).
   */
  static Column rowName(Dataset<Row> df, boolean files) {
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
    ImageLayout stored = column.stored();
    ImageLayout shaped = column.layout();
    String shape = switch (kind) {
      case VALUES -> stored.channels() == 1 && stored.height() == 1 ? stored.width() + " values" : stored.describe();
      case PIXEL_ARRAY, PIXEL_BYTES -> stored.describe() + (shaped.equals(stored) ? "" : " to " + shaped.describe());
      case ENCODED, IMAGE_STRUCT -> shaped.describe();
    };
    String labels = labelColumn == null ? "unlabelled" : "labels from column '" + labelColumn + "'";
    String skip = skipped == null || skipped.count() == 0 ? ""
        : String.format(Locale.ROOT, ", %,d undecodable skipped", skipped.count());
    return String.format(Locale.ROOT, "%s: %,d rows, column '%s' (%s %s), %s%s", what, count, imageColumn,
        column.describeKind(), shape, labels, skip);
  }

  @Override
  public Digest digest() {
    return Digest.ofText("name, columns and row count", what + "\n" + rows.schema().json() + "\n" + count);
  }

  @Override
  public ImageLayout layout() {
    return column.layout();
  }

  @Override
  public long count() {
    return count;
  }

  @Override
  public boolean preprocessed() {
    return column.preprocessed();
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
    column = column.counting(skipped);
    // Spark's own splits where they match; otherwise consecutive runs of the table's order
    // (OrderedSplit), which shuffles only the stored (compressed) images
    return OrderedSplit.of(rows, count, partitions).flatMap(new RowToImage(what, labelColumn, column));
  }

  @Override
  public Optional<String> skippedWarning() {
    return skipped == null ? Optional.empty() : skipped.warning(count);
  }

  /** In a task: one row (image, label, name) to an image; none when it cannot be decoded. */
  private record RowToImage(String what, String labelColumn, ImageColumn column)
      implements FlatMapFunction<Row, LabeledImage>, Serializable {

    @Override
    public Iterator<LabeledImage> call(Row row) {
      int label = -1;
      if (labelColumn != null) {
        if (row.isNullAt(1)) {
          throw new UserError(column.name(row, 0, 2, what) + " has no label (null in column '" + labelColumn + "')");
        }
        label = row.getInt(1);
      }
      LabeledImage image = column.read(row, 0, 2, label, what);
      return image == null ? Collections.emptyIterator() : List.of(image).iterator();
    }
  }
}

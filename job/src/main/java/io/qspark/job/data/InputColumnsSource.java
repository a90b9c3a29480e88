package io.qspark.job.data;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;

/**
 * Model inputs in a Spark table, one column per input (--input-columns left=a,right=b): each
 * column an array of numbers holding one item of its input (C*H*W values, already preprocessed),
 * for models of several inputs (siamese and matching networks, image plus side data). Each row
 * becomes one item whose values are every input's, in the model's input order. Types and the
 * first row's lengths are checked on the driver; every row's lengths in the tasks, each a
 * one-line error naming the input, the column and the row.
 */
final class InputColumnsSource implements DataSource {
  private final String what;
  private final Dataset<Row> rows;
  private final Map<String, String> columns;
  private final String labelColumn;
  private final int[] sizes;
  private final long count;

  private InputColumnsSource(String what, Dataset<Row> rows, Map<String, String> columns, String labelColumn, int[] sizes,
      long count) {
    this.what = what;
    this.rows = rows;
    this.columns = columns;
    this.labelColumn = labelColumn;
    this.sizes = sizes;
    this.count = count;
  }

  static DataSource build(DataRequest req, String what, Dataset<Row> df, Column rowName, ModelSignature model) {
    Map<String, String> given = req.inputColumns();
    List<String> names = model.inputs().stream().map(ModelSignature.Port::name).toList();
    for (String in : given.keySet()) {
      if (!names.contains(in)) {
        throw new UserError("--input-columns names input '" + in + "' but the model's inputs are " + String.join(", ", names));
      }
    }
    List<String> missing = names.stream().filter(n -> !given.containsKey(n)).toList();
    if (!missing.isEmpty()) {
      throw new UserError("--input-columns gives no column for the model's input" + (missing.size() == 1 ? " " : "s ")
          + String.join(", ", missing.stream().map(n -> "'" + n + "'").toList()) + " (every input needs one)");
    }
    if (req.dims() != null) throw new UserError("--dims does not apply to --input-columns: each input has the model's shape");
    if (!req.geometry().isNone()) throw new UserError("--resize and --crop do not apply to --input-columns: they hold model inputs");
    Map<String, String> columns = new LinkedHashMap<>();
    List<Column> select = new ArrayList<>();
    int[] sizes = new int[names.size()];
    for (int i = 0; i < names.size(); i++) {
      String in = names.get(i);
      StructField f = TableSource.field(df, given.get(in), what, "--input-columns");
      if (!(f.dataType() instanceof ArrayType a && a.elementType() instanceof NumericType)) {
        throw new UserError(what + ": column '" + f.name() + "' for input '" + in + "' is " + f.dataType().simpleString()
            + "; --input-columns takes columns of arrays of numbers (the input's values)");
      }
      columns.put(in, f.name());
      select.add(col(f.name()).cast("array<float>").as("in" + i));
      sizes[i] = (int) model.inputs().get(i).itemSize();
    }
    String labelName = req.labelColumn() != null ? req.labelColumn()
        : hasColumn(df, DataRequest.DEFAULT_LABEL_COLUMN) ? DataRequest.DEFAULT_LABEL_COLUMN : null;
    StructField label = labelName == null ? null : TableSource.field(df, labelName, what, "--label-column");
    select.add((label == null ? lit(null).cast("int") : col(label.name()).cast("int")).as("label"));
    select.add(rowName.as("name"));
    Dataset<Row> rows = df.select(select.toArray(new Column[0]));
    if (req.limit() >= 0) rows = rows.limit(req.limit());
    long count = rows.count();
    if (count == 0) throw new UserError(what + " holds no rows");
    Row first = rows.first();
    for (int i = 0; i < sizes.length; i++) check(first, i, sizes[i], names.get(i), columns.get(names.get(i)), what);
    return new InputColumnsSource(what, rows, columns, label == null ? null : label.name(), sizes, count);
  }

  private static boolean hasColumn(Dataset<Row> df, String name) {
    for (StructField f : df.schema().fields()) if (f.name().equalsIgnoreCase(name)) return true;
    return false;
  }

  /** The row's input {@code i}, checked: present and of the input's length. */
  private static List<Float> check(Row row, int i, int size, String input, String column, String what) {
    int nameAt = row.length() - 1;
    String rowName = row.isNullAt(nameAt) ? what : row.getString(nameAt);
    if (row.isNullAt(i)) throw new UserError(rowName + ": column '" + column + "' for input '" + input + "' is null");
    List<Float> v = row.getList(i);
    if (v.size() != size) {
      throw new UserError(rowName + ": column '" + column + "' for input '" + input + "' holds " + v.size()
          + " values but the input takes " + size);
    }
    return v;
  }

  @Override
  public String describe() {
    List<String> pairs = new ArrayList<>();
    columns.forEach((in, c) -> pairs.add(in + " from '" + c + "'"));
    return String.format(Locale.ROOT, "%s: %,d rows, model inputs %s, %s", what, count, String.join(", ", pairs),
        labelColumn == null ? "unlabelled" : "labels from column '" + labelColumn + "'");
  }

  @Override
  public Digest digest() {
    return Digest.ofText("name, columns and row count", what + "\n" + columns + "\n" + rows.schema().json() + "\n" + count);
  }

  @Override
  public ImageLayout layout() {
    int total = 0;
    for (int s : sizes) total += s;
    return new ImageLayout(1, 1, total, false);
  }

  @Override
  public long count() {
    return count;
  }

  @Override
  public boolean preprocessed() {
    return true;
  }

  @Override
  public void requireLabels(int classes) {
    if (labelColumn == null) throw new UserError(what + " has no label column; name it with --label-column");
  }

  @Override
  public JavaRDD<LabeledImage> images(JavaSparkContext sc, int partitions) {
    // consecutive runs of the table's order: the place of an image in the data does not depend on the partitions
    return OrderedSplit.of(rows, count, partitions).map(new ToItem(what, List.copyOf(columns.keySet()), List.copyOf(columns.values()), sizes));
  }

  /** In a task: one row to one item, every input's values one after another. */
  private record ToItem(String what, List<String> inputs, List<String> columns, int[] sizes) implements Function<Row, LabeledImage> {
    @Override
    public LabeledImage call(Row row) {
      int total = 0;
      for (int s : sizes) total += s;
      float[] x = new float[total];
      int off = 0;
      for (int i = 0; i < sizes.length; i++) {
        List<Float> v = check(row, i, sizes[i], inputs.get(i), columns.get(i), what);
        for (int k = 0; k < sizes[i]; k++) {
          Float f = v.get(k);
          if (f == null) throw new UserError(name(row) + ": column '" + columns.get(i) + "' holds a null value");
          x[off + k] = f;
        }
        off += sizes[i];
      }
      int labelAt = sizes.length;
      return LabeledImage.ofValues(name(row), x, row.isNullAt(labelAt) ? -1 : row.getInt(labelAt));
    }

    private String name(Row row) {
      int at = row.length() - 1;
      return row.isNullAt(at) ? what : row.getString(at);
    }
  }
}

package io.qspark.job.data;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.ImageGeometry;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.preprocess.Pixels;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.Row;
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
import org.apache.spark.sql.types.StructType;

/**
 * A column of images in a Spark table and how one value of it becomes a {@link LabeledImage}:
 * model inputs (array&lt;float|double&gt;, C,H,W), raw pixels (array&lt;int&gt; or binary of
 * C*H*W bytes, planar, with their dims), encoded PNG/JPEG bytes (binary without dims), or the
 * struct of Spark's {@code image} data source (origin, height, width, nChannels, mode, data:
 * 8-bit pixels interleaved in OpenCV's B,G,R(,A) order, which become planar R,G,B as
 * {@link ImageDecoder} gives them: both read the same file to the same pixels). Made on the
 * driver, which decides the kind from the schema and the layout from the dims or the first
 * decodable values; shipped to tasks.
 */
public final class ImageColumn implements Serializable {
  private static final long serialVersionUID = 1L;

  /** What the column holds. */
  public enum Kind {
    VALUES("model inputs"), PIXEL_ARRAY("raw pixels"), PIXEL_BYTES("raw pixels"), ENCODED("encoded images"),
    IMAGE_STRUCT("images of Spark's image data source");

    final String what;

    Kind(String what) {
      this.what = what;
    }
  }

  /** The fields of Spark's image struct (org.apache.spark.ml.image.ImageSchema) that qspark reads. */
  static final String[] STRUCT_FIELDS = {"height", "width", "nChannels", "data"};

  private final String column;
  private final Kind kind;
  /** Stored layout: of the values (VALUES), of the raw pixels (PIXEL_*); null otherwise. */
  private final ImageLayout stored;
  /** Channels, resize/crop and size check of pixel kinds; null for VALUES. */
  private final Decoding decoding;

  private ImageColumn(String column, Kind kind, ImageLayout stored, Decoding decoding) {
    this.column = column;
    this.kind = kind;
    this.stored = stored;
    this.decoding = decoding;
  }

  /**
   * What a column of this type holds.
   *
   * @param dims whether the user gave C,H,W (binary is then raw pixels, not encoded files)
   * @param what the table, for the message
   */
  public static Kind kind(StructField f, boolean dims, String what) {
    DataType t = f.dataType();
    if (t instanceof ArrayType a) {
      DataType e = a.elementType();
      if (e instanceof FloatType || e instanceof DoubleType) return Kind.VALUES;
      if (integral(e)) return Kind.PIXEL_ARRAY;
    }
    if (t instanceof BinaryType) return dims ? Kind.PIXEL_BYTES : Kind.ENCODED;
    if (t instanceof StructType s && isImageStruct(s)) return Kind.IMAGE_STRUCT;
    throw new UserError(what + ": column '" + f.name() + "' is " + t.simpleString() + "; images must be"
        + " array<float> (model inputs), array<int> or binary (raw pixels, with --dims), binary (PNG/JPEG)"
        + " or the struct of Spark's image data source");
  }

  static boolean isImageStruct(StructType s) {
    List<String> names = List.of(s.fieldNames());
    for (String f : STRUCT_FIELDS) if (!names.contains(f)) return false;
    return s.apply("data").dataType() instanceof BinaryType;
  }

  public static boolean integral(DataType t) {
    return t instanceof IntegerType || t instanceof LongType || t instanceof ShortType || t instanceof ByteType;
  }

  /** A column of model inputs of this layout (1 x 1 x n when the data does not say). */
  public static ImageColumn ofValues(String column, ImageLayout stored) {
    return new ImageColumn(column, Kind.VALUES, stored, null);
  }

  /** A column of raw pixels of this stored layout, brought to one layout by the resize/crop step. */
  public static ImageColumn ofPixels(String column, Kind kind, ImageLayout stored, ImageGeometry geometry, boolean strict,
      SkippedImages skipped) {
    return new ImageColumn(column, kind, stored, new Decoding(ImageShaping.of(stored, geometry), strict, skipped));
  }

  /**
   * A column of encoded images or image structs, whose layout the first decodable of the
   * candidates decides (the first failure fails when strict, else all {@link Decoding#PROBES}).
   *
   * @param candidates rows whose value at {@code index} is the column's, the name at {@code nameIndex} (or none)
   */
  public static ImageColumn probe(String column, Kind kind, Iterator<Row> candidates, int index, int nameIndex,
      ImageGeometry geometry, boolean strict, SkippedImages skipped, String what) {
    if (kind != Kind.ENCODED && kind != Kind.IMAGE_STRUCT) throw new IllegalArgumentException(kind + " is not probed");
    ImageColumn reader = new ImageColumn(column, kind, null, null);
    ImageShaping shaping = Decoding.probePixels(candidates, r -> reader.name(r, index, nameIndex, what),
        r -> kind == Kind.ENCODED ? ImageDecoder.decode(r.isNullAt(index) ? new byte[0] : (byte[]) r.get(index))
            : structPixels(r.isNullAt(index) ? null : r.getStruct(index)),
        geometry, strict, what);
    return new ImageColumn(column, kind, null, new Decoding(shaping, strict, skipped));
  }

  /** The same column counting the images it skips (strict: none are skipped) in {@code skipped}. */
  public ImageColumn counting(SkippedImages skipped) {
    return decoding == null ? this
        : new ImageColumn(column, kind, stored, new Decoding(decoding.shaping(), decoding.strict(), skipped));
  }

  public String column() {
    return column;
  }

  public Kind kind() {
    return kind;
  }

  /** What the column holds, for reports: "model inputs", "encoded images", ... */
  public String describeKind() {
    return kind.what;
  }

  /** The layout images have once read: the values' own, or the pixels' after shaping. */
  public ImageLayout layout() {
    return kind == Kind.VALUES ? stored : decoding.shaping().layout();
  }

  /** The layout as stored, before shaping (raw pixels and values only). */
  public ImageLayout stored() {
    return stored;
  }

  /** True when the column holds model inputs, which preprocessing does not apply to. */
  public boolean preprocessed() {
    return kind == Kind.VALUES;
  }

  /** The name of the row's image in messages: the image struct's origin, else the name column, else the table. */
  String name(Row row, int index, int nameIndex, String what) {
    if (kind == Kind.IMAGE_STRUCT && !row.isNullAt(index)) {
      Row s = row.getStruct(index);
      int o = fieldIndex(s, "origin");
      if (o >= 0 && !s.isNullAt(o)) return s.getString(o);
    }
    if (nameIndex >= 0 && !row.isNullAt(nameIndex)) return row.getString(nameIndex);
    return "a row of " + what;
  }

  /**
   * The row's image (its value at {@code index}), or null when an undecodable one is skipped.
   * A null value is an error naming the column.
   */
  public LabeledImage read(Row row, int index, int nameIndex, int label, String what) {
    String name = name(row, index, nameIndex, what);
    if (row.isNullAt(index)) throw new UserError(name + " has no image (null in column '" + column + "')");
    return switch (kind) {
      case VALUES -> LabeledImage.ofValues(name, values(name, row.getList(index)), label);
      case PIXEL_ARRAY -> decoding.shaping().shape(name, pixels(name, pixelBytes(name, row.getList(index))), label);
      case PIXEL_BYTES -> decoding.shaping().shape(name, pixels(name, (byte[]) row.get(index)), label);
      case ENCODED -> decoding.decode(name, (byte[]) row.get(index), label);
      case IMAGE_STRUCT -> struct(name, row.getStruct(index), label);
    };
  }

  private LabeledImage struct(String name, Row s, int label) {
    Pixels p;
    try {
      p = structPixels(s);
    } catch (IOException e) {
      if (decoding.strict()) throw Decoding.undecodable(name, e);
      decoding.skipped().add(name, e.getMessage());
      return null;
    }
    return decoding.shaping().shape(name, p, label);
  }

  /**
   * The pixels of one image struct. Spark's image source marks a file it could not decode with
   * height, width and nChannels -1 and empty data (dropInvalid false).
   */
  static Pixels structPixels(Row s) throws IOException {
    if (s == null) throw new IOException("no image");
    int h = s.getInt(s.fieldIndex("height"));
    int w = s.getInt(s.fieldIndex("width"));
    int c = s.getInt(s.fieldIndex("nChannels"));
    byte[] data = (byte[]) s.get(s.fieldIndex("data"));
    if (h < 1 || w < 1 || c < 1) throw new IOException("Spark's image data source could not decode it");
    if (c != 1 && c != 3 && c != 4) throw new IOException(c + " channels (qspark reads 1, 3 or 4)");
    if (data == null || (long) h * w * c != data.length) {
      throw new IOException((data == null ? 0 : data.length) + " bytes of data for " + h + "x" + w + "x" + c);
    }
    int hw = h * w;
    if (c == 1) return new Pixels(1, h, w, data);
    // OpenCV order, interleaved: B,G,R or B,G,R,A; alpha dropped, as ImageDecoder drops it
    byte[] planar = new byte[3 * hw];
    for (int i = 0; i < hw; i++) {
      planar[i] = data[i * c + 2];
      planar[hw + i] = data[i * c + 1];
      planar[2 * hw + i] = data[i * c];
    }
    return new Pixels(3, h, w, planar);
  }

  private static int fieldIndex(Row s, String name) {
    if (s.schema() == null) return -1;
    for (int i = 0; i < s.schema().fields().length; i++) if (s.schema().fields()[i].name().equals(name)) return i;
    return -1;
  }

  private float[] values(String name, List<?> list) {
    if (list.size() != stored.size()) throw wrongSize(name, list.size(), "values");
    float[] v = new float[list.size()];
    for (int i = 0; i < v.length; i++) {
      Object f = list.get(i);
      if (f == null) throw new UserError(name + " has a null value in column '" + column + "'");
      v[i] = ((Number) f).floatValue();
    }
    return v;
  }

  private byte[] pixelBytes(String name, List<?> list) {
    byte[] b = new byte[list.size()];
    for (int i = 0; i < b.length; i++) {
      Object o = list.get(i);
      long p = o == null ? -1 : ((Number) o).longValue();
      if (p < 0 || p > 255) throw new UserError(name + ": pixel " + o + " in column '" + column + "' is not 0..255");
      b[i] = (byte) p;
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
    return new UserError(name + " has " + n + " " + unit + " in column '" + column + "', not " + expected);
  }
}

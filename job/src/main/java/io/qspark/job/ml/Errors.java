package io.qspark.job.ml;

import io.qspark.job.base.UserError;
import io.qspark.job.data.ImageColumn;
import io.qspark.kernels.graph.GraphException;
import java.util.Map;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Bad input as the Spark ML stages report it: an IllegalArgumentException naming the column, Param or file. */
final class Errors {
  /** The application layer names settings as the command line does; the stages name their Params. */
  private static final Map<String, String> PARAMS = Map.ofEntries(Map.entry("--calib-size", "calibSize"),
      Map.entry("--batch", "batchSize"), Map.entry("--adaquant-steps", "adaquantSteps"),
      Map.entry("--adaquant-images-per-step", "adaquantImagesPerStep"), Map.entry("--mean", "mean"), Map.entry("--std", "std"),
      Map.entry("--raw-scale", "rawScale"), Map.entry("--channel-swap", "channelSwap"), Map.entry("--resize", "resize"),
      Map.entry("--crop", "crop"), Map.entry("--model", "modelPath"), Map.entry("--weights", "weightsPath"),
      Map.entry("--target", "target"), Map.entry("--percentile", "percentile"), Map.entry("--bits", "weightBits"));

  private Errors() {}

  /** A settings message with the Params' names for the flags'. */
  static String params(String message) {
    String m = message == null ? "" : message;
    for (Map.Entry<String, String> e : PARAMS.entrySet()) {
      m = m.replaceAll(java.util.regex.Pattern.quote(e.getKey()) + "(?![a-z-])", "Param " + e.getValue());
    }
    return m;
  }

  /** What the application layer threw, as the API reports it: the user's errors as IllegalArgumentException. */
  static RuntimeException api(RuntimeException e) {
    RuntimeException user = UserError.findIn(e);
    if (user instanceof IllegalArgumentException) return user;
    if (user instanceof GraphException g) return new IllegalArgumentException(g.getMessage(), g);
    return e;
  }

  /** The image column must exist and hold images of a kind qspark reads. */
  static StructField imageColumn(StructType schema, String column, String stage) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(column)) {
        if (ImageColumn.kind(f, false, stage) == ImageColumn.Kind.PIXEL_ARRAY) {
          throw new IllegalArgumentException(stage + ": column '" + column + "' (Param imageCol) holds integer arrays; the"
              + " stages read Spark's image structs, encoded PNG/JPEG bytes or model inputs (array<float>)");
        }
        return f;
      }
    }
    throw new IllegalArgumentException(stage + ": the DataFrame has no column '" + column + "' (Param imageCol; its columns: "
        + String.join(", ", schema.fieldNames()) + ")");
  }
}

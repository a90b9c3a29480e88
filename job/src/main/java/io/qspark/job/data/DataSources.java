package io.qspark.job.data;

import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelSignature;
import io.qspark.job.preprocess.ImageLayout;
import java.io.IOException;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * Picks the reader for --data: {@code synthetic:N[,SEED]} is random images in the model's input
 * shape; {@code table:NAME} is a catalog table; a *.parquet file, or a
 * folder of Parquet part files, is Parquet; any other folder holds image files; any other file
 * is IDX. Spark is started (through {@code spark}) only for the sources that need it to open.
 */
public final class DataSources {
  public static final String TABLE_PREFIX = "table:";

  private DataSources() {}

  /**
   * @param model the model the images are for: synthetic data takes the shape of its inputs (of
   *     every input, one after another) and, for a classifier, its class count (labels), else it
   *     is unlabelled
   */
  public static DataSource open(DataRequest request, Supplier<SparkSession> spark, ModelSignature model) {
    String data = request.data();
    if (data.startsWith(SyntheticSource.PREFIX)) {
      // a model of several inputs gets each item's inputs one after another, each in its own shape
      int[] shape = model.inputs().size() == 1 ? model.inputs().get(0).itemShape()
          : new int[] {(int) model.inputs().stream().mapToLong(ModelSignature.Port::itemSize).sum()};
      return SyntheticSource.open(request, data.substring(SyntheticSource.PREFIX.length()), shape, model.classes());
    }
    if (!request.inputColumns().isEmpty() && !data.startsWith(TABLE_PREFIX) && !isTable(data)) {
      throw new UserError("--input-columns reads Parquet or a table; " + data + " is neither");
    }
    if (data.startsWith(TABLE_PREFIX)) {
      noLabelsFile(request, "a table");
      return TableSource.table(request, data.substring(TABLE_PREFIX.length()), spark.get(), model);
    }
    Configuration conf = HadoopFiles.driverConfiguration();
    Path path = HadoopFiles.qualified(data, conf);
    FileStatus status = HadoopFiles.status(path, conf);
    if (status.isDirectory() ? isParquetFolder(path, conf) : path.getName().endsWith(".parquet")) {
      noLabelsFile(request, "Parquet");
      return TableSource.parquet(request, path, spark.get(), model);
    }
    if (status.isDirectory()) {
      noLabelsFile(request, "an image folder");
      return ImageFolderSource.open(request, path, conf);
    }
    if (ImageFolderSource.isImage(path)) {
      throw new UserError(HadoopFiles.display(path) + " is one image; --data takes the folder of images");
    }
    return IdxDataSource.open(request, path, conf);
  }

  /**
   * The layout of the images an IDX file or an image folder feeds, after the request's geometry
   * (resize, crop); null for synthetic data and tables, which take their shape from the model.
   */
  public static ImageLayout imageLayout(DataRequest request) {
    String data = request.data();
    if (data.startsWith(SyntheticSource.PREFIX) || data.startsWith(TABLE_PREFIX) || isTable(data)) return null;
    // IDX files and image folders do not look at the model
    return open(request, () -> {
      throw new IllegalStateException("no Spark session for an image source");
    }, null).layout();
  }

  /** Whether --data names Parquet (a file, or a folder of part files). */
  private static boolean isTable(String data) {
    if (data.startsWith(SyntheticSource.PREFIX)) return false;
    Configuration conf = HadoopFiles.driverConfiguration();
    Path path = HadoopFiles.qualified(data, conf);
    FileStatus status = HadoopFiles.status(path, conf);
    return status.isDirectory() ? isParquetFolder(path, conf) : path.getName().endsWith(".parquet");
  }

  private static void noLabelsFile(DataRequest request, String what) {
    if (request.labels() != null) {
      throw new UserError("--labels names an IDX labels file; " + what + " has its labels in itself"
          + " (class folders, or --label-column)");
    }
  }

  /** Part files written by Spark or any Parquet writer, possibly partitioned (key=value folders). */
  private static boolean isParquetFolder(Path dir, Configuration conf) {
    try {
      for (FileStatus s : HadoopFiles.fileSystem(dir, conf).listStatus(dir)) {
        String n = s.getPath().getName();
        if (HadoopFiles.hidden(n)) continue;
        if (s.isFile() ? n.endsWith(".parquet") : n.contains("=")) return true;
      }
      return false;
    } catch (IOException e) {
      throw new UserError("cannot list " + HadoopFiles.display(dir) + ": " + e.getMessage(), e);
    }
  }
}

package io.qspark.job.data;

import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelSignature;
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
   * @param model the model the images are for: synthetic data takes the shape of its (one) input
   *     and, for a classifier, its class count (labels), else it is unlabelled
   */
  public static DataSource open(DataRequest request, Supplier<SparkSession> spark, ModelSignature model) {
    String data = request.data();
    if (data.startsWith(SyntheticSource.PREFIX)) {
      if (model.inputs().size() != 1) {
        throw new UserError("synthetic data feeds a model with one input; this one has " + model.inputs().size());
      }
      return SyntheticSource.open(request, data.substring(SyntheticSource.PREFIX.length()),
          model.inputs().get(0).itemShape(), model.classes());
    }
    if (data.startsWith(TABLE_PREFIX)) {
      noLabelsFile(request, "a table");
      return TableSource.table(request, data.substring(TABLE_PREFIX.length()), spark.get());
    }
    Configuration conf = HadoopFiles.driverConfiguration();
    Path path = HadoopFiles.qualified(data, conf);
    FileStatus status = HadoopFiles.status(path, conf);
    if (status.isDirectory() ? isParquetFolder(path, conf) : path.getName().endsWith(".parquet")) {
      noLabelsFile(request, "Parquet");
      return TableSource.parquet(request, path, spark.get());
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

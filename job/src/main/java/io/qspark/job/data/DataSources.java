package io.qspark.job.data;

import io.qspark.job.UserError;
import java.nio.file.Files;

/** Picks the reader for a data path. Only IDX files so far; folders and Parquet will join here. */
public final class DataSources {
  private DataSources() {}

  public static DataSource open(DataRequest request) {
    if (!Files.exists(request.data())) throw new UserError("data file not found: " + request.data());
    if (Files.isDirectory(request.data())) {
      throw new UserError(request.data() + " is a folder; --data takes an IDX images file (image folders are not supported yet)");
    }
    return IdxDataSource.open(request);
  }
}

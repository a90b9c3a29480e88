package io.qspark.job.output;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;

/**
 * A table of per-image predictions (evaluate and simulate --predictions): Parquet part files
 * as Spark writes them, in a folder that appears whole or not at all ({@link AtomicFolder}).
 * It holds nothing but the table (no folder.json: Spark would take it for a part file), so
 * {@code spark.read().parquet(location)} reads it as it is.
 */
public final class PredictionsTable {
  private PredictionsTable() {}

  /** Checks the target (before any work is spent) and opens it for writing. */
  public static Writer create(String location, boolean overwrite) {
    return new Writer(AtomicFolder.create(location, overwrite));
  }

  /** A predictions table being written; nothing appears until {@link #commit}. */
  public static final class Writer implements AutoCloseable {
    private final AtomicFolder folder;

    private Writer(AtomicFolder folder) {
      this.folder = folder;
    }

    public String shown() {
      return folder.shown();
    }

    /** Runs the table's job, writing its rows, and puts the folder in place. */
    public void commit(Dataset<Row> table) {
      try {
        // into the (empty) temporary folder: Spark adds its part files and _SUCCESS
        table.write().mode(SaveMode.Append).parquet(folder.temporaryLocation());
      } catch (Exception e) { // SparkException, undeclared from Scala
        RuntimeException user = UserError.findIn(e);
        if (user != null) throw user;
        throw new JobFailure("writing the predictions to " + shown() + " failed: " + JobFailure.firstLine(e), e);
      }
      folder.commit();
    }

    @Override
    public void close() {
      folder.close();
    }
  }
}

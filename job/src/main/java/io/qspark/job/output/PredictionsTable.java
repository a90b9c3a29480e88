package io.qspark.job.output;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import io.qspark.job.data.HadoopFiles;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;

/**
 * A table of per-image predictions (evaluate and simulate --predictions): Parquet part files
 * as Spark writes them, in a folder that appears whole or not at all ({@link AtomicFolder}).
 * It holds nothing but the table and qspark's marker, whose leading underscore Spark skips (no
 * folder.json: Spark would take it for a part file), so {@code spark.read().parquet(location)}
 * reads it as it is; the marker lists Spark's files, so --overwrite may replace it.
 */
public final class PredictionsTable {
  private PredictionsTable() {}

  /**
   * Checks the target (before any work is spent; apart from the run's {@code inputs} and other
   * outputs) and opens it for writing.
   */
  public static Writer create(String location, boolean overwrite, RunInputs inputs) {
    return new Writer(AtomicFolder.create("--predictions", location, overwrite, inputs, HadoopFiles.driverConfiguration()));
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
      folder.adoptWritten();
      folder.commit();
    }

    @Override
    public void close() {
      folder.close();
    }
  }
}

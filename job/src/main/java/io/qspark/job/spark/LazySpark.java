package io.qspark.job.spark;

import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/**
 * A command's Spark, started on first use: data sources that need Spark to open (tables,
 * Parquet) start it, the others are checked first without paying for a Spark start-up.
 * Closing stops it only if it was started.
 */
public final class LazySpark implements Supplier<SparkSession>, AutoCloseable {
  private final String appName;
  private final SparkSettings settings;
  private SparkRuntime runtime;

  public LazySpark(String appName, SparkSettings settings) {
    this.appName = appName;
    this.settings = settings;
  }

  public SparkRuntime runtime() {
    if (runtime == null) runtime = SparkRuntime.start(appName, settings);
    return runtime;
  }

  @Override
  public SparkSession get() {
    return runtime().session();
  }

  @Override
  public void close() {
    if (runtime != null) runtime.close();
  }
}

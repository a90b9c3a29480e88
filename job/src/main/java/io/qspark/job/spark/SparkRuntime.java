package io.qspark.job.spark;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of one command. Under spark-submit the master and everything else come
 * from there; run directly (bin/qspark, tests) it is local mode on every core, bound to the
 * loopback address and without the web UI unless configured otherwise.
 */
public final class SparkRuntime implements AutoCloseable {
  private final SparkSession session;

  private SparkRuntime(SparkSession session) {
    this.session = session;
  }

  public static SparkRuntime start(String appName, SparkSettings settings) {
    SparkConf conf = new SparkConf(); // loads spark.* system properties, as spark-submit sets them
    if (settings.master() != null) conf.setMaster(settings.master());
    else if (!conf.contains("spark.master")) conf.setMaster("local[*]");
    if (conf.get("spark.master").startsWith("local")) {
      conf.setIfMissing("spark.ui.enabled", "false");
      conf.setIfMissing("spark.driver.host", "localhost");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
    }
    conf.setIfMissing("spark.app.name", appName);
    try {
      return new SparkRuntime(SparkSession.builder().config(conf).getOrCreate());
    } catch (Exception e) { // SparkException is thrown undeclared from Scala
      String master = conf.get("spark.master");
      String why = JobFailure.firstLine(e);
      if (why.startsWith("Could not parse Master URL")) {
        throw new UserError("--master " + master + " is not a Spark master URL (local[N], spark://host:port, yarn, k8s://...)", e);
      }
      throw new JobFailure("cannot start Spark with master " + master + ": " + why, e);
    }
  }

  public SparkSession session() {
    return session;
  }

  public JavaSparkContext context() {
    return JavaSparkContext.fromSparkContext(session.sparkContext());
  }

  public String master() {
    return session.sparkContext().master();
  }

  @Override
  public void close() {
    session.stop();
  }
}

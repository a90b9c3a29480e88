package io.qspark.job.spark;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of one command. Under spark-submit the master and everything else come
 * from there; run directly (bin/qspark, tests) it is local mode on every core, bound to the
 * loopback address and without the web UI unless configured otherwise. Called from Spark code
 * that has a session running (a Spark ML stage, a notebook), it is that session, which it
 * leaves running: qspark stops only the Spark it started.
 */
public final class SparkRuntime implements AutoCloseable {
  private final SparkSession session;
  private final boolean started;

  private SparkRuntime(SparkSession session, boolean started) {
    this.session = session;
    this.started = started;
  }

  public static SparkRuntime start(String appName, SparkSettings settings) {
    SparkSession running = running();
    if (running != null) return new SparkRuntime(running, false);
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
      return new SparkRuntime(SparkSession.builder().config(conf).getOrCreate(), true);
    } catch (Exception e) { // SparkException is thrown undeclared from Scala
      String master = conf.get("spark.master");
      String why = JobFailure.firstLine(e);
      if (why.startsWith("Could not parse Master URL")) {
        throw new UserError("--master " + master + " is not a Spark master URL (local[N], spark://host:port, yarn, k8s://...)", e);
      }
      throw new JobFailure("cannot start Spark with master " + master + ": " + why, e);
    }
  }

  /** The caller's session (this thread's active one, else the default one) when it is running, or null. */
  private static SparkSession running() {
    scala.Option<SparkSession> s = SparkSession.getActiveSession();
    if (s.isEmpty()) s = SparkSession.getDefaultSession();
    return s.isDefined() && !s.get().sparkContext().isStopped() ? s.get() : null;
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
    if (started) session.stop();
  }
}

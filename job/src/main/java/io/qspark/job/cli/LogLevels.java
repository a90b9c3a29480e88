package io.qspark.job.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * Our log4j2.properties silences Spark's loggers that report failed tasks, because qspark
 * reports the failure itself in one line. --verbose wants the whole story back, for the one
 * command only (tests run many in one JVM).
 */
final class LogLevels implements AutoCloseable {
  private static final String[] FAILURE_REPORTERS = {
      "org.apache.spark.executor.Executor", "org.apache.spark.scheduler.TaskSetManager",
      "org.apache.spark.SparkContext", "org.apache.spark.TaskContextImpl"};

  private final Map<String, Level> before = new LinkedHashMap<>();

  private LogLevels() {}

  static LogLevels showSparkFailures() {
    LogLevels l = new LogLevels();
    try {
      for (String logger : FAILURE_REPORTERS) {
        l.before.put(logger, LogManager.getLogger(logger).getLevel());
        Configurator.setLevel(logger, Level.WARN);
      }
    } catch (LinkageError e) {
      // another logging backend (a cluster's choice): its own configuration decides
    }
    return l;
  }

  @Override
  public void close() {
    before.forEach(Configurator::setLevel);
  }
}

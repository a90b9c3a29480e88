package io.qspark.job.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** `qspark --version`: our version, and the Spark actually on the classpath (a cluster's may differ from the build's). */
public final class Version implements IVersionProvider {
  /** qspark's own version, for reports that record how a result was made. */
  public static String qspark() {
    return properties().getProperty("version", "unknown");
  }

  private static Properties properties() {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("/io/qspark/job/version.properties")) {
      if (in != null) p.load(in);
    } catch (IOException e) {
      // no properties: versions read "unknown"
    }
    return p;
  }

  @Override
  public String[] getVersion() {
    Properties p = properties();
    return new String[] {
        "qspark " + p.getProperty("version", "unknown"),
        "Spark " + sparkVersion() + " (built against " + p.getProperty("spark.build", "?") + ")",
        "Java " + System.getProperty("java.version") + " " + System.getProperty("java.vm.name")};
  }

  private static String sparkVersion() {
    try {
      return org.apache.spark.package$.MODULE$.SPARK_VERSION();
    } catch (LinkageError e) {
      return "not on the classpath";
    }
  }
}

package io.qspark.job.cli;

import io.qspark.job.base.Build;
import picocli.CommandLine.IVersionProvider;

/** `qspark --version`: our version and commit, and the Spark actually on the classpath (a cluster's may differ from the build's). */
public final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() {
    return new String[] {
        "qspark " + Build.version() + " (commit " + Build.gitCommit() + ")",
        "Spark " + sparkVersion() + " (built against " + Build.sparkBuild() + ")",
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

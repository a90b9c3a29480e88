package io.qspark.job.base;

/** The cluster could not finish a job (lost executors, out of memory, a bug in a task): exit code 3. */
public class JobFailure extends RuntimeException {
  public JobFailure(String message, Throwable cause) {
    super(message, cause);
  }

  /** Spark's messages carry the remote stack trace after the first line; the first line says what happened. */
  public static String firstLine(Throwable t) {
    return String.valueOf(t.getMessage()).lines().findFirst().orElse(t.toString());
  }
}

package io.qspark.job;

/** The cluster could not finish a job (lost executors, out of memory, a bug in a task): exit code 3. */
public class JobFailure extends RuntimeException {
  public JobFailure(String message, Throwable cause) {
    super(message, cause);
  }
}

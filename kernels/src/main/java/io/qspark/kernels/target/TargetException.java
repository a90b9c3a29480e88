package io.qspark.kernels.target;

/** A DPU target description that cannot be used: unreadable, not YAML, unknown keys, bad values. */
public class TargetException extends RuntimeException {
  public TargetException(String message) {
    super(message);
  }

  public TargetException(String message, Throwable cause) {
    super(message, cause);
  }
}

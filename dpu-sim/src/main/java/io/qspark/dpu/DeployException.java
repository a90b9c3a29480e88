package io.qspark.dpu;

/** A deploy model that cannot be built or read: bad input, with a one-line message. */
public final class DeployException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DeployException(String message) {
    super(message);
  }

  public DeployException(String message, Throwable cause) {
    super(message, cause);
  }
}

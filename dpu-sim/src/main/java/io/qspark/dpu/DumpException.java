package io.qspark.dpu;

/** A golden dump that cannot be read or compared: its message is one line naming the file or layer. */
public class DumpException extends RuntimeException {
  public DumpException(String message) {
    super(message);
  }

  public DumpException(String message, Throwable cause) {
    super(message, cause);
  }
}

package io.qspark.kernels.graph;

/**
 * A model that cannot be used as given: malformed file, unsupported ops, missing tensors,
 * inconsistent shapes. The message is one line a user can act on, naming nodes and tensors.
 */
public class GraphException extends RuntimeException {
  public GraphException(String message) {
    super(message);
  }

  public GraphException(String message, Throwable cause) {
    super(message, cause);
  }
}

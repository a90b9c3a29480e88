package io.qspark.job.base;

import io.qspark.kernels.graph.GraphException;

/**
 * Input the user can fix (a flag value, a missing or malformed data file): reported as one
 * line, exit code 2. Models have their own, {@link io.qspark.kernels.graph.GraphException}.
 * An IllegalArgumentException, so that code calling the application layer or the Spark ML
 * stages catches bad input as Java's own kind of it.
 */
public class UserError extends IllegalArgumentException {
  public UserError(String message) {
    super(message);
  }

  public UserError(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * The user-fixable error (this or a GraphException) in a cause chain, or null: a problem found
   * inside a Spark task or a library call arrives wrapped, and is still the user's to fix.
   */
  public static RuntimeException findIn(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof GraphException || c instanceof UserError) return (RuntimeException) c;
    }
    return null;
  }
}

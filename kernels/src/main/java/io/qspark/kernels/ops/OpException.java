package io.qspark.kernels.ops;

import io.qspark.kernels.graph.GraphException;

/** An op given attributes or input shapes it cannot work with. */
public class OpException extends GraphException {
  public OpException(String message) {
    super(message);
  }
}

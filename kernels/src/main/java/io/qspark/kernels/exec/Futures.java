package io.qspark.kernels.exec;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waits for a task on one of our own pools, rethrowing its failure as it was thrown. */
public final class Futures {
  private Futures() {}

  public static <T> T join(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw new IllegalStateException(e.getCause());
    }
  }
}

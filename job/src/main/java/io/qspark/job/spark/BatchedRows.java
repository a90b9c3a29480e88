package io.qspark.job.spark;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Supplier;

/**
 * A task's output made a mini-batch at a time, handed on one item at a time, so that a
 * partition is never held whole: {@code nextBatch} gives the items of the next mini-batch, or
 * null when the input is exhausted.
 */
public final class BatchedRows<T> implements Iterator<T> {
  private final Supplier<List<T>> nextBatch;
  private List<T> ready = List.of();
  private int next;
  private boolean done;

  public BatchedRows(Supplier<List<T>> nextBatch) {
    this.nextBatch = nextBatch;
  }

  @Override
  public boolean hasNext() {
    while (next >= ready.size() && !done) {
      List<T> b = nextBatch.get();
      if (b == null) done = true;
      else {
        ready = b;
        next = 0;
      }
    }
    return next < ready.size();
  }

  @Override
  public T next() {
    if (!hasNext()) throw new NoSuchElementException();
    return ready.get(next++);
  }
}

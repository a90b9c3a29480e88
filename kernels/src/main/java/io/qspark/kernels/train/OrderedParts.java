package io.qspark.kernels.train;

import java.io.Serializable;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parts of a sum keyed by an index (a partition, a micro-batch), as a mergeable value: merging is
 * a union of parts, and a sum over {@link #inOrder} adds them in index order. Floating-point
 * addition is not associative, so summing as Spark's tree happens to combine would make the
 * result depend on task timing; this way it depends only on which parts there are, whatever
 * order merges arrive in. The one home of that rule for {@link GradientSum} (AdaQuant's per
 * partition gradients) and {@link QatGradient} (a QAT step's per micro-batch gradients).
 *
 * <p>Invariant: an index is added once; a second part under the same index is a bug upstream
 * (a task counted twice) and fails at once.
 */
public final class OrderedParts<P extends Serializable> implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String what;
  private final TreeMap<Integer, P> parts = new TreeMap<>();

  /** @param what what an index numbers, for the error on a duplicate ("partition", "micro-batch") */
  public OrderedParts(String what) {
    this.what = what;
  }

  public void add(int index, P part) {
    if (parts.put(index, part) != null) throw new IllegalStateException(what + " " + index + " added twice");
  }

  public void merge(OrderedParts<P> other) {
    for (Map.Entry<Integer, P> e : other.parts.entrySet()) add(e.getKey(), e.getValue());
  }

  public int size() {
    return parts.size();
  }

  public boolean isEmpty() {
    return parts.isEmpty();
  }

  /** The parts by index, ascending. */
  public java.util.SortedMap<Integer, P> byIndex() {
    return Collections.unmodifiableSortedMap(parts);
  }

  /** The parts by ascending index: the order every sum over them follows. */
  public Collection<P> inOrder() {
    return Collections.unmodifiableCollection(parts.values());
  }
}

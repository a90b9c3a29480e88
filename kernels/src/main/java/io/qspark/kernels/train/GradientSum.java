package io.qspark.kernels.train;

import java.util.Map;
import java.util.TreeMap;

/**
 * A layer's loss gradient summed over images, as a mergeable value: each partition adds its
 * own part, merging is a union of parts, and {@link #total} adds the parts in partition order.
 * Floating-point addition is not associative, so summing as Spark's tree happens to combine
 * would make the weights depend on task timing; this way the result depends only on the
 * partitioning, whatever order merges arrive in.
 */
public final class GradientSum implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** One partition's sums: gradient of the squared error w.r.t. the fake-quantized weights then bias. */
  public record Part(double[] gradient, double squaredError, long count) implements java.io.Serializable {}

  public record Total(double[] gradient, double squaredError, long count) {
    public double mse() {
      return count == 0 ? 0 : squaredError / count;
    }
  }

  private final TreeMap<Integer, Part> parts = new TreeMap<>();

  public GradientSum add(int partition, Part p) {
    if (parts.put(partition, p) != null) throw new IllegalStateException("partition " + partition + " added twice");
    return this;
  }

  public GradientSum merge(GradientSum other) {
    for (Map.Entry<Integer, Part> e : other.parts.entrySet()) add(e.getKey(), e.getValue());
    return this;
  }

  public int parts() {
    return parts.size();
  }

  public Total total() {
    double[] g = null;
    double sse = 0;
    long n = 0;
    for (Part p : parts.values()) {
      if (g == null) g = new double[p.gradient().length];
      for (int i = 0; i < g.length; i++) g[i] += p.gradient()[i];
      sse += p.squaredError();
      n += p.count();
    }
    return new Total(g == null ? new double[0] : g, sse, n);
  }
}

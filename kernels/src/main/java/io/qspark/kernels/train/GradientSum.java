package io.qspark.kernels.train;

/**
 * A layer's loss gradient summed over images, as a mergeable value: each partition adds its
 * own part, merging is a union of parts, and {@link #total} adds the parts in partition order
 * ({@link OrderedParts}): the result depends only on the partitioning, not on task timing.
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

  private final OrderedParts<Part> parts = new OrderedParts<>("partition");

  public GradientSum add(int partition, Part p) {
    parts.add(partition, p);
    return this;
  }

  public GradientSum merge(GradientSum other) {
    parts.merge(other.parts);
    return this;
  }

  public int parts() {
    return parts.size();
  }

  public Total total() {
    double[] g = null;
    double sse = 0;
    long n = 0;
    for (Part p : parts.inOrder()) {
      if (g == null) g = new double[p.gradient().length];
      for (int i = 0; i < g.length; i++) g[i] += p.gradient()[i];
      sse += p.squaredError();
      n += p.count();
    }
    return new Total(g == null ? new double[0] : g, sse, n);
  }
}

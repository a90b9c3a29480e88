package io.qspark.kernels.train;

/**
 * A QAT step's loss gradient, as a mergeable value of one part per micro-batch (keyed by the
 * micro-batch's index in the step). {@link #total} adds the parts in index order ({@link
 * OrderedParts}), so the step's
 * result is the same bits whichever partition computed which micro-batch and in whatever order
 * Spark's tree merged them: 1, 2 or 20 partitions train the same model.
 */
public final class QatGradient implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * One micro-batch: gradients of the summed loss per trainable parameter, the summed loss,
   * correct top-1 predictions, images, and per batch-statistics BatchNorm its input's mean and
   * unbiased variance per channel (empty after the freeze), and the gradients of the summed
   * loss per learned log2 threshold (TQT; empty when thresholds are fixed).
   */
  public record Part(float[][] gradients, double lossSum, long correct, long count, double[][] bnStatistics,
      double[] thresholdGradients) implements java.io.Serializable {
    /** Fixed thresholds. */
    public Part(float[][] gradients, double lossSum, long correct, long count, double[][] bnStatistics) {
      this(gradients, lossSum, correct, count, bnStatistics, new double[0]);
    }
  }

  /**
   * The step's sums: gradient of the mean loss, mean loss, accuracy, per BatchNorm the mean of
   * the micro-batches' statistics, and the mean loss's gradient per learned log2 threshold.
   */
  public record Total(double[][] gradients, double loss, double accuracy, long count, double[][] bnStatistics, int parts,
      double[] thresholdGradients) {}

  private final OrderedParts<Part> parts = new OrderedParts<>("micro-batch");

  /** A part's figures without its gradients, which travel apart ({@link GradientSlices}). */
  public static Part withoutGradients(Part p) {
    return new Part(new float[0][], p.lossSum(), p.correct(), p.count(), p.bnStatistics(), p.thresholdGradients());
  }

  /** Each part, by micro-batch index, in index order. */
  public java.util.SortedMap<Integer, Part> byIndex() {
    return parts.byIndex();
  }

  public QatGradient add(int microBatch, Part p) {
    parts.add(microBatch, p);
    return this;
  }

  public QatGradient merge(QatGradient other) {
    parts.merge(other.parts);
    return this;
  }

  public int parts() {
    return parts.size();
  }

  public Total total() {
    if (parts.isEmpty()) throw new IllegalStateException("no micro-batch in this step");
    Part first = parts.inOrder().iterator().next();
    double[][] g = new double[first.gradients().length][];
    for (int i = 0; i < g.length; i++) g[i] = new double[first.gradients()[i].length];
    for (Part p : parts.inOrder()) {
      for (int i = 0; i < g.length; i++) {
        float[] s = p.gradients()[i];
        double[] d = g[i];
        for (int k = 0; k < d.length; k++) d[k] += s[k];
      }
    }
    return total(g);
  }

  /**
   * The step's sums with the gradients already summed elsewhere: {@code summed}, per trainable
   * parameter the sum over the micro-batches in index order as {@link #total()} forms it (double
   * += float, micro-batch 0 first: {@link GradientSlices#add}); the parts here give the rest and
   * may carry no gradients ({@link #withoutGradients}). {@code summed} is divided in place.
   */
  public Total total(double[][] summed) {
    if (parts.isEmpty()) throw new IllegalStateException("no micro-batch in this step");
    Part first = parts.inOrder().iterator().next();
    double[][] g = summed;
    double[][] bn = new double[first.bnStatistics().length][];
    for (int i = 0; i < bn.length; i++) bn[i] = new double[first.bnStatistics()[i].length];
    double[] th = new double[first.thresholdGradients().length];
    double loss = 0;
    long correct = 0, n = 0;
    for (Part p : parts.inOrder()) {
      for (int i = 0; i < bn.length; i++) for (int k = 0; k < bn[i].length; k++) bn[i][k] += p.bnStatistics()[i][k];
      for (int i = 0; i < th.length; i++) th[i] += p.thresholdGradients()[i];
      loss += p.lossSum();
      correct += p.correct();
      n += p.count();
    }
    for (double[] d : g) for (int k = 0; k < d.length; k++) d[k] /= n;
    for (int i = 0; i < th.length; i++) th[i] /= n;
    for (double[] d : bn) for (int k = 0; k < d.length; k++) d[k] /= parts.size();
    return new Total(g, loss / n, (double) correct / n, n, bn, parts.size(), th);
  }
}

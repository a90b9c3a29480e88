package io.qspark.kernels.quant;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Activation ranges robust to a few extreme calibration images ({@code --range-groups G}): the
 * calibration images, in data order, are cut into G consecutive runs; each activation point's
 * quantizer is chosen on each run's histogram alone by the point's method, and the point takes
 * the widest of the runs' choices.
 *
 * <p>Why: one histogram over every calibration image weighs a rare image with 2-4x larger
 * activations by its share of values, so mse clips it at many points at once, and the model's
 * error on such an image compounds over the layers (lraspp_mobilenet_v3_large on Fashion-MNIST,
 * BENCHMARKS.md "Why lraspp's held-out figure is low": one image held 61% of a held-out set's
 * error). A run's own choice keeps what that run needs; the widest over the runs keeps what every
 * run needs. With one group this is the plain choice over all images. The widest choice is never
 * wider than the no-overflow position of all images (no run's choice is).
 *
 * <p>Invariant: a run's choice depends only on its merged histogram, which is exact whatever the
 * partitioning; a task decides the runs that lie wholly in its partition and sends the others'
 * histograms, which the driver merges and decides. So the result is the same for any partitioning
 * (RangeGroupsTest, CalibrationJob's range-group test). Mergeable: {@link #merge} is associative
 * and commutative (the widest of choices; histograms add).
 */
public final class RangeGroups implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Per point, the widest choice so far: [0] signed, [1] unsigned (null once a run held a negative value). */
  private final TreeMap<String, FixPoint[]> widest = new TreeMap<>();
  /** Runs only part of which this buffer saw, by run index: decided once merged. */
  private final TreeMap<Integer, ActivationStats> partial = new TreeMap<>();

  /** The run of the image at data-order {@code index} of {@code total}: index * G / total, as Spark's ordered splits. */
  public static int groupOf(long index, long total, int groups) {
    return (int) Math.min(groups - 1, index * groups / total);
  }

  /** The data-order index of run {@code g}'s first image: the least i with groupOf(i) = g. */
  public static long firstOf(int g, long total, int groups) {
    return (g * total + groups - 1) / groups;
  }

  /** A run wholly seen: its choices now, its histograms dropped. */
  public void decided(ActivationStats run, QuantPlan plan, QuantConfig cfg) {
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      Histogram h = run.histograms().get(a.name());
      if (h == null || h.count() == 0) continue;
      boolean unsignedPossible = cfg.unsignedActivations() && h.min() >= 0;
      FixPoint s = QuantParams.activation(a, h, true, cfg);
      FixPoint u = unsignedPossible ? QuantParams.activation(a, h, false, cfg) : null;
      widest.merge(a.name(), new FixPoint[] {s, u}, RangeGroups::wider);
    }
  }

  /** Part of run {@code g}: kept as histograms until the run's other parts join it. */
  public void partial(int g, ActivationStats part) {
    partial.merge(g, part, ActivationStats::merge);
  }

  public RangeGroups merge(RangeGroups other) {
    other.widest.forEach((k, v) -> widest.merge(k, v, RangeGroups::wider));
    other.partial.forEach((g, s) -> partial.merge(g, s, ActivationStats::merge));
    return this;
  }

  /**
   * Each point's widest choice over every run, once all buffers are merged: the runs still held
   * as histograms decided now. {@code whole}, the histograms over all images, says whether a
   * point is unsigned (as {@link QuantParams#activation(io.qspark.kernels.graph.Graph,
   * QuantPlan.ActivationPoint, Histogram, QuantConfig)} decides it).
   */
  public Map<String, FixPoint> choices(QuantPlan plan, QuantConfig cfg, Map<String, Histogram> whole) {
    RangeGroups all = new RangeGroups().merge(this);
    for (ActivationStats run : partial.values()) all.decided(run, plan, cfg);
    Map<String, FixPoint> out = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      FixPoint[] w = all.widest.get(a.name());
      Histogram h = whole.get(a.name());
      if (w == null || h == null) continue;
      boolean signed = !(cfg.unsignedActivations() && h.min() >= 0);
      // unsigned only when no image of any run was negative, so every run has its unsigned choice
      out.put(a.name(), signed || w[1] == null ? w[0] : w[1]);
    }
    return out;
  }

  /** Runs held as histograms (for tests and logs). */
  public int partialRuns() {
    return partial.size();
  }

  /** The wider of two choices, element by element: the larger step (the smaller fix_point); a tie keeps the first. */
  private static FixPoint[] wider(FixPoint[] a, FixPoint[] b) {
    return new FixPoint[] {wider(a[0], b[0]), a[1] == null || b[1] == null ? null : wider(a[1], b[1])};
  }

  private static FixPoint wider(FixPoint a, FixPoint b) {
    return b.step() > a.step() ? b : a;
  }
}

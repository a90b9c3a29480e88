package io.qspark.kernels.train;

import java.util.Locale;

/**
 * What fine-tuning did to one layer: its own error against the float layer before and after,
 * the model's output error with and without the update, whether it was kept, the fix_points
 * before and after, and the time taken.
 */
public record LayerReport(String layer, String skipped, int steps, Mse layerMse, Mse outputMse, boolean kept,
    FixPoints fixPoints, double seconds) implements java.io.Serializable {

  /** A mean squared error before and after the update. */
  public record Mse(double before, double after) implements java.io.Serializable {}

  /** The fix_points of the layer's weight and output before and after the update. */
  public record FixPoints(int weightBefore, int weightAfter, int outputBefore, int outputAfter)
      implements java.io.Serializable {}

  static LayerReport skipped(String layer, String why) {
    Mse none = new Mse(Double.NaN, Double.NaN);
    return new LayerReport(layer, why, 0, none, none, false, new FixPoints(0, 0, 0, 0), 0);
  }

  public double layerMseBefore() {
    return layerMse.before();
  }

  public double layerMseAfter() {
    return layerMse.after();
  }

  public double outputMseBefore() {
    return outputMse.before();
  }

  public double outputMseAfter() {
    return outputMse.after();
  }

  public String summary() {
    if (skipped != null) return layer + ": skipped (" + skipped + ")";
    return String.format(Locale.ROOT, "%s: layer mse %.4g -> %.4g, output mse %.4g -> %.4g, %s (w fp %d -> %d, out fp %d -> %d, %.1f s)",
        layer, layerMse.before(), layerMse.after(), outputMse.before(), outputMse.after(), kept ? "kept" : "reverted",
        fixPoints.weightBefore(), fixPoints.weightAfter(), fixPoints.outputBefore(), fixPoints.outputAfter(), seconds);
  }
}

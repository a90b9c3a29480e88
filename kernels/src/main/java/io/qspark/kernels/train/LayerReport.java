package io.qspark.kernels.train;

import java.util.Locale;

/**
 * What fine-tuning did to one layer: its own error against the float layer before and after,
 * the model's output error with and without the update, whether it was kept, the fix_points
 * before and after, and the time taken.
 */
public record LayerReport(String layer, String skipped, int steps, double layerMseBefore, double layerMseAfter,
    double outputMseBefore, double outputMseAfter, boolean kept, int weightFpBefore, int weightFpAfter,
    int outputFpBefore, int outputFpAfter, double seconds) implements java.io.Serializable {

  static LayerReport skipped(String layer, String why) {
    return new LayerReport(layer, why, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, false, 0, 0, 0, 0, 0);
  }

  public String summary() {
    if (skipped != null) return layer + ": skipped (" + skipped + ")";
    return String.format(Locale.ROOT, "%s: layer mse %.4g -> %.4g, output mse %.4g -> %.4g, %s (w fp %d -> %d, out fp %d -> %d, %.1f s)",
        layer, layerMseBefore, layerMseAfter, outputMseBefore, outputMseAfter, kept ? "kept" : "reverted",
        weightFpBefore, weightFpAfter, outputFpBefore, outputFpAfter, seconds);
  }
}

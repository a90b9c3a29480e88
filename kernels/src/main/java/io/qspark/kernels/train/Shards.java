package io.qspark.kernels.train;

/**
 * The data side of layer-wise fine-tuning: the calibration images split into shards that each
 * cache their activations. {@link AdaQuant} drives it; {@link LocalShards} holds the shards
 * in this JVM, the Spark job holds one per partition of a persisted RDD. Every result that
 * sums over shards adds them in shard (partition) order, so results depend on the
 * partitioning only; the exact variants, each image's part summed exactly over a window of a
 * fixed order of the data's images ({@link ImageOrder}), do not depend on it at all.
 */
public interface Shards extends AutoCloseable {
  /** Splits the data into shards and runs the float model once (its outputs are the end-to-end reference). */
  void start(Decided d);

  /** Moves every shard to a layer: float values through its output, quantized up to its input. */
  void advance(int layer, Decided d);

  /** The layer's gradient summed over every shard, one part per shard. */
  GradientSum gradient(int layer, LayerWeights lw, int step);

  /** The layer's output under lw, merged over shards. */
  LayerOutput output(int layer, LayerWeights lw);

  /** Mean squared error of the quantized model's outputs under d against the float model's, from the current layer on. */
  double endToEnd(Decided d);

  /** The number of images over all shards (after {@link #start}). */
  long images();

  /**
   * The layer's gradient over the images at positions [from, from + count) of {@code order}
   * (wrapping around), summed exactly: the same for any partitioning.
   */
  ExactGradient exactGradient(int layer, LayerWeights lw, ImageOrder order, long from, int count);

  /**
   * {@link #endToEnd} on the images at the first {@code limit} positions of {@code order} (0: all),
   * summed exactly: the same for any partitioning.
   */
  double endToEndExact(Decided d, ImageOrder order, long limit);

  /**
   * Runs all the steps of a layer's rounding fit and returns the fitted one: each step's exact
   * gradient over its window ({@link #exactGradient}), then the fit's update. This default
   * steps {@code fit} itself, one gradient call per step; an implementation may step copies
   * where the data is, as long as the result is the same bits.
   */
  default RoundingFit fitRounding(int layer, RoundingFit fit) {
    while (fit.done() < fit.steps()) {
      fit.step(exactGradient(layer, fit.soft(), fit.order(), fit.window(), fit.count()));
    }
    return fit;
  }

  @Override
  void close();
}

package io.qspark.kernels.train;

/**
 * Settings of AdaQuant.
 *
 * @param steps Adam steps per layer
 * @param lrScale the learning rate as a multiple of the std of the layer's float weights
 *     (Vitis: 0.01, a tenth of it for layers already quantized well)
 * @param imagesPerStep images per shard and step (0: every cached image each step). The
 *     default, 64 (128 a step on two partitions), keeps the gradient work per layer near two
 *     passes over 1,000 images; on resnet_s W4A4 it gave the same top-1 as full-batch steps
 *     (89.78 vs 89.77) in well under half the time
 * @param seed where in each shard the first step's images start; with imagesPerStep 0 it
 *     changes nothing
 */
public record AdaQuantOptions(int steps, double lrScale, int imagesPerStep, long seed) implements java.io.Serializable {
  public AdaQuantOptions {
    if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    if (!(lrScale > 0)) throw new IllegalArgumentException("learning-rate scale must be > 0, got " + lrScale);
    if (imagesPerStep < 0) throw new IllegalArgumentException("images per step must be >= 0");
  }

  public static AdaQuantOptions defaults() {
    return new AdaQuantOptions(20, 0.01, 64, 0);
  }

  public AdaQuantOptions withSteps(int s) {
    return new AdaQuantOptions(s, lrScale, imagesPerStep, seed);
  }

  public AdaQuantOptions withLrScale(double lr) {
    return new AdaQuantOptions(steps, lr, imagesPerStep, seed);
  }

  public AdaQuantOptions withImagesPerStep(int n) {
    return new AdaQuantOptions(steps, lrScale, n, seed);
  }
}

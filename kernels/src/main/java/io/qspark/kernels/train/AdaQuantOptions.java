package io.qspark.kernels.train;

/**
 * Settings of AdaQuant.
 *
 * @param steps Adam steps per layer
 * @param lrScale the learning rate as a multiple of the std of the layer's float weights
 *     (Vitis: 0.01 with 20 steps; a tenth of it for layers already quantized well)
 * @param imagesPerStep images per shard and step (0: every cached image each step). The
 *     default, 64 (128 a step on two partitions), keeps the gradient work per layer near one
 *     pass over 1,000 images at the default steps; on resnet_s W4A4 (then 20 steps) it gave
 *     the same top-1 as full-batch steps (89.78 vs 89.77) in well under half the time
 * @param seed where in each shard the first step's images start; with imagesPerStep 0 it
 *     changes nothing
 * @param checkImages images per shard that the end-to-end check (keep a layer's update only if
 *     the model's output error falls) runs on, the first ones of each shard (0: all). The
 *     check runs the quantized model from the tuned layer to the output once per layer, so on
 *     every image it cost about as much as all the gradient steps together; the default, 128
 *     (256 on two partitions), is a quarter of that on 1,000 images
 */
public record AdaQuantOptions(int steps, double lrScale, int imagesPerStep, long seed, int checkImages)
    implements java.io.Serializable {
  public AdaQuantOptions {
    if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    if (!(lrScale > 0)) throw new IllegalArgumentException("learning-rate scale must be > 0, got " + lrScale);
    if (imagesPerStep < 0) throw new IllegalArgumentException("images per step must be >= 0");
    if (checkImages < 0) throw new IllegalArgumentException("images of the end-to-end check must be >= 0");
  }

  /** The end-to-end check on every image. */
  public AdaQuantOptions(int steps, double lrScale, int imagesPerStep, long seed) {
    this(steps, lrScale, imagesPerStep, seed, 0);
  }

  /**
   * 10 steps at 0.02 x std(W): Vitis takes 20 at 0.01 x std(W); half the steps at twice the
   * rate move the weights as far for half the gradient work and half the Spark jobs, and gave
   * the same W4A4 top-1 on 1,000 images (resnet_s 89.85 vs 89.79, mbv2_s 87.31 vs 87.60, on
   * 10,000 test images).
   */
  public static AdaQuantOptions defaults() {
    return new AdaQuantOptions(10, 0.02, 64, 0, 128);
  }

  public AdaQuantOptions withSteps(int s) {
    return new AdaQuantOptions(s, lrScale, imagesPerStep, seed, checkImages);
  }

  public AdaQuantOptions withLrScale(double lr) {
    return new AdaQuantOptions(steps, lr, imagesPerStep, seed, checkImages);
  }

  public AdaQuantOptions withImagesPerStep(int n) {
    return new AdaQuantOptions(steps, lrScale, n, seed, checkImages);
  }

  public AdaQuantOptions withCheckImages(int n) {
    return new AdaQuantOptions(steps, lrScale, imagesPerStep, seed, n);
  }
}

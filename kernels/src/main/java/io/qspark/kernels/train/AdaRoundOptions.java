package io.qspark.kernels.train;

/**
 * Settings of AdaRound.
 *
 * @param steps Adam steps per layer on the rounding variables
 * @param lr Adam's learning rate on V (the paper's 1e-3 is for 10,000 steps; V moves about lr
 *     per step and starts within ±2.4, so a few dozen steps need a rate near 0.1)
 * @param imagesPerStep images per step, consecutive in the data's order, over all shards (0: all)
 * @param seed where the first step's images start (in windows of imagesPerStep)
 * @param checkImages the end-to-end check (keep a layer's update only if the model's output
 *     error falls) runs on the data's first N images (0: all)
 * @param regularization λ, the weight of the rounding regularizer Σ 1 − |2h − 1|^β against
 *     the layer's reconstruction error (squared error summed over output channels, averaged
 *     over images and positions, as the paper's code; its λ is 0.01)
 * @param warmup the share of steps before the regularizer is switched on (the paper: 0.2)
 * @param betaStart β when the regularizer starts (the paper: 20), annealed linearly to
 * @param betaEnd β at the last step (the paper: 2)
 */
public record AdaRoundOptions(int steps, double lr, int imagesPerStep, long seed, int checkImages, double regularization,
    double warmup, double betaStart, double betaEnd) implements java.io.Serializable {
  public AdaRoundOptions {
    if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + lr);
    if (imagesPerStep < 0) throw new IllegalArgumentException("images per step must be >= 0");
    if (checkImages < 0) throw new IllegalArgumentException("images of the end-to-end check must be >= 0");
    if (!(regularization >= 0)) throw new IllegalArgumentException("regularization must be >= 0, got " + regularization);
    if (!(warmup >= 0 && warmup < 1)) throw new IllegalArgumentException("warm-up share must be in [0, 1), got " + warmup);
    if (!(betaEnd >= 1 && betaStart >= betaEnd)) {
      throw new IllegalArgumentException("need betaStart >= betaEnd >= 1, got " + betaStart + ", " + betaEnd);
    }
  }

  public static AdaRoundOptions defaults() {
    return new AdaRoundOptions(20, 0.1, 64, 0, 256, 0.01, 0.2, 20, 2);
  }

  /** β at step t: none (0) during the warm-up, then linearly from betaStart to betaEnd at the last step. */
  public double beta(int t) {
    int warm = (int) Math.ceil(warmup * steps);
    if (t < warm) return 0;
    int span = steps - 1 - warm;
    double rel = span <= 0 ? 1 : (double) (t - warm) / span;
    return betaStart + (betaEnd - betaStart) * rel;
  }

  public AdaRoundOptions withSteps(int s) {
    return new AdaRoundOptions(s, lr, imagesPerStep, seed, checkImages, regularization, warmup, betaStart, betaEnd);
  }

  public AdaRoundOptions withLr(double r) {
    return new AdaRoundOptions(steps, r, imagesPerStep, seed, checkImages, regularization, warmup, betaStart, betaEnd);
  }

  public AdaRoundOptions withImagesPerStep(int n) {
    return new AdaRoundOptions(steps, lr, n, seed, checkImages, regularization, warmup, betaStart, betaEnd);
  }

  public AdaRoundOptions withCheckImages(int n) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, n, regularization, warmup, betaStart, betaEnd);
  }

  public AdaRoundOptions withRegularization(double l) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, checkImages, l, warmup, betaStart, betaEnd);
  }

  public AdaRoundOptions withWarmup(double w) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, checkImages, regularization, w, betaStart, betaEnd);
  }

  public AdaRoundOptions withBeta(double start, double end) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, checkImages, regularization, warmup, start, end);
  }
}

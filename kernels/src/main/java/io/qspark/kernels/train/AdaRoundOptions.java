package io.qspark.kernels.train;

/**
 * Settings of AdaRound.
 *
 * @param steps Adam steps per layer on the rounding variables
 * @param lr Adam's learning rate on V (the paper's 1e-3 is for 10,000 steps; V moves about lr
 *     per step and starts within ±2.4, so a few dozen steps need a rate near 0.1)
 * @param imagesPerStep images per step, over all shards (0: all): consecutive windows of an
 *     {@link ImageOrder} spread over the data
 * @param seed where the first step's images start (in windows of imagesPerStep)
 * @param checkImages the end-to-end check (keep a layer's update only if the model's output
 *     error falls) runs on the first N images of
 *     the same order (0: all)
 * @param regularizer the rounding regularizer and its schedule
 */
public record AdaRoundOptions(int steps, double lr, int imagesPerStep, long seed, int checkImages, Regularizer regularizer)
    implements java.io.Serializable {
  public AdaRoundOptions {
    if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be > 0, got " + lr);
    if (imagesPerStep < 0) throw new IllegalArgumentException("images per step must be >= 0");
    if (checkImages < 0) throw new IllegalArgumentException("images of the end-to-end check must be >= 0");
    java.util.Objects.requireNonNull(regularizer, "regularizer");
  }

  /**
   * AdaRound's rounding regularizer Σ 1 − |2h − 1|^β and its annealing.
   *
   * @param weight λ, its weight against the layer's reconstruction error (squared error summed
   *     over output channels, averaged over images and positions, as the paper's code; its λ is 0.01)
   * @param warmup the share of steps before it is switched on (the paper: 0.2)
   * @param betaStart β when it starts (the paper: 20), annealed linearly to
   * @param betaEnd β at the last step (the paper: 2)
   */
  public record Regularizer(double weight, double warmup, double betaStart, double betaEnd) implements java.io.Serializable {
    public Regularizer {
      if (!(weight >= 0)) throw new IllegalArgumentException("regularization must be >= 0, got " + weight);
      if (!(warmup >= 0 && warmup < 1)) throw new IllegalArgumentException("warm-up share must be in [0, 1), got " + warmup);
      if (!(betaEnd >= 1 && betaStart >= betaEnd)) {
        throw new IllegalArgumentException("need betaStart >= betaEnd >= 1, got " + betaStart + ", " + betaEnd);
      }
    }
  }

  public static AdaRoundOptions defaults() {
    return new AdaRoundOptions(20, 0.1, 64, 0, 256, new Regularizer(0.01, 0.2, 20, 2));
  }

  /** λ, the regularizer's weight. */
  public double regularization() {
    return regularizer.weight();
  }

  public double warmup() {
    return regularizer.warmup();
  }

  public double betaStart() {
    return regularizer.betaStart();
  }

  public double betaEnd() {
    return regularizer.betaEnd();
  }

  /** β at step t: none (0) during the warm-up, then linearly from betaStart to betaEnd at the last step. */
  public double beta(int t) {
    int warm = (int) Math.ceil(regularizer.warmup() * steps);
    if (t < warm) return 0;
    int span = steps - 1 - warm;
    double rel = span <= 0 ? 1 : (double) (t - warm) / span;
    return regularizer.betaStart() + (regularizer.betaEnd() - regularizer.betaStart()) * rel;
  }

  public AdaRoundOptions withSteps(int s) {
    return new AdaRoundOptions(s, lr, imagesPerStep, seed, checkImages, regularizer);
  }

  public AdaRoundOptions withLr(double r) {
    return new AdaRoundOptions(steps, r, imagesPerStep, seed, checkImages, regularizer);
  }

  public AdaRoundOptions withImagesPerStep(int n) {
    return new AdaRoundOptions(steps, lr, n, seed, checkImages, regularizer);
  }

  public AdaRoundOptions withCheckImages(int n) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, n, regularizer);
  }

  public AdaRoundOptions withRegularization(double l) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, checkImages,
        new Regularizer(l, regularizer.warmup(), regularizer.betaStart(), regularizer.betaEnd()));
  }

  public AdaRoundOptions withWarmup(double w) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, checkImages,
        new Regularizer(regularizer.weight(), w, regularizer.betaStart(), regularizer.betaEnd()));
  }

  public AdaRoundOptions withBeta(double start, double end) {
    return new AdaRoundOptions(steps, lr, imagesPerStep, seed, checkImages,
        new Regularizer(regularizer.weight(), regularizer.warmup(), start, end));
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.quant.FixPoint;

/**
 * One layer's AdaRound fit as a value: the rounding variables, their optimizer and the step
 * schedule (which images each step sees, the regularizer's annealing). A step takes the
 * layer's gradient over its window of images, summed exactly ({@link ExactGradient}), and
 * moves V by Adam; given the same totals, the same steps give the same bits on any JVM (all of
 * it double arithmetic on the values alone). That is what lets the steps run where the
 * gradient parts are ({@link Shards#fitRounding}): on the driver, one job per step, or on every
 * task of a barrier job at once, each stepping its own copy on the exchanged parts.
 */
public final class RoundingFit implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final SoftRounding rounding;
  private final Adam adam;
  private final AdaRoundOptions opt;
  private final ImageOrder order;
  private final long images;
  private final int perStep;
  private final int channels;
  private final float[] bias;
  private final FixPoint biasQuant;
  private int done;

  /**
   * @param w the layer's weights (float, or where an earlier stage left them)
   * @param wq the weights' fix_point: the grid the weights round on
   * @param b the bias (null if none), kept as it is
   * @param channels output channels: the error is summed over them, averaged over images and positions
   * @param images the number of images over all shards
   */
  RoundingFit(float[] w, FixPoint wq, float[] b, FixPoint bq, int channels, AdaRoundOptions opt, ImageOrder order,
      long images) {
    this.rounding = new SoftRounding(w, wq);
    this.adam = new Adam(w.length, opt.lr());
    this.opt = opt;
    this.order = order;
    this.images = images;
    this.perStep = opt.imagesPerStep() <= 0 || opt.imagesPerStep() > images ? (int) images : opt.imagesPerStep();
    this.channels = channels;
    this.bias = b;
    this.biasQuant = bq;
  }

  /** Steps in all. */
  public int steps() {
    return opt.steps();
  }

  /** Steps taken so far. */
  public int done() {
    return done;
  }

  /** The layer's values for the next step: the soft weights as they are (no quantizer on them), the bias at its fix_point. */
  public LayerWeights soft() {
    return new LayerWeights(rounding.soft(), bias, null, biasQuant);
  }

  /** The image order the windows are taken from. */
  public ImageOrder order() {
    return order;
  }

  /** Where the next step's images start in the {@link #order()}. */
  public long window() {
    return AdaRound.window(opt, done, images);
  }

  /** Images per step. */
  public int count() {
    return perStep;
  }

  /** Length of the layer's gradient: weights, then biases. */
  public int gradientSize() {
    return rounding.v.length + (bias == null ? 0 : bias.length);
  }

  /** Takes the next step on the layer's exact gradient over the step's window. */
  public void step(ExactGradient g) {
    if (done >= opt.steps()) throw new IllegalStateException("all " + opt.steps() + " steps already taken");
    GradientSum.Total t = g.total();
    // squared error summed over channels, averaged over images and positions
    double norm = Math.max(1, (double) t.count() / channels);
    double[] d = new double[rounding.v.length];
    for (int i = 0; i < d.length; i++) d[i] = t.gradient()[i] / norm;
    double beta = opt.beta(done);
    adam.step(rounding.v, rounding.gradient(d, beta == 0 ? 0 : opt.regularization(), beta));
    done++;
  }

  /** The weights rounded hard, each the floor or the ceiling of w / s: the fit's result. */
  public float[] hard() {
    return rounding.hard();
  }

  /** A digest of the state (steps taken, every rounding variable's bits): equal digests, equal fits. */
  public long digest() {
    long h = done;
    for (float v : rounding.v) h = h * 0x9E3779B97F4A7C15L + Float.floatToRawIntBits(v);
    return h;
  }
}

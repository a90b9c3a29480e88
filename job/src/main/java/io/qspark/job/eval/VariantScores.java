package io.qspark.job.eval;

import io.qspark.kernels.quant.ExactSum;
import io.qspark.kernels.tensor.ArgMax;
import java.io.Serializable;
import java.util.List;

/**
 * How far each of several variants of a model (some points quantized) is from the float model
 * on the same images: the output SQNR (every output's values, float vs variant, summed exactly)
 * for any model, and for images with labels the top-1 of float and variant (the first output's
 * rows as class scores). A per-partition buffer: integer counts and {@link ExactSum}s, so the
 * totals are the same for any partitioning and any grouping of variants into tasks.
 */
public final class VariantScores implements Serializable {
  private static final long serialVersionUID = 1L;
  private final ExactSum signal = new ExactSum();
  private final ExactSum[] noise;
  /** Per output: the float values' squares, and each variant's squared errors ([variant][output]); allocated on first use. */
  private ExactSum[] outputSignal;
  private final ExactSum[][] outputNoise;
  private final long[] correct;
  private final long[] agree;
  private long images;
  private long labelled;
  private long floatCorrect;

  public VariantScores(int variants) {
    noise = new ExactSum[variants];
    outputNoise = new ExactSum[variants][];
    for (int i = 0; i < variants; i++) noise[i] = new ExactSum();
    correct = new long[variants];
    agree = new long[variants];
  }

  public int variants() {
    return noise.length;
  }

  /** The float model's outputs on a batch of {@code n} images (each image counted once, by one task). */
  public void addFloat(List<float[]> outputs, int n, int[] labels) {
    for (float[] o : outputs) signal.addSquares(o);
    if (outputSignal == null) outputSignal = sums(outputs.size());
    for (int o = 0; o < outputs.size(); o++) outputSignal[o].addSquares(outputs.get(o));
    images += n;
    float[] y = outputs.get(0);
    int classes = y.length / n;
    for (int i = 0; i < n; i++) {
      if (labels[i] < 0) continue;
      labelled++;
      if (ArgMax.of(y, i * classes, classes) == labels[i]) floatCorrect++;
    }
  }

  /** Variant {@code v}'s outputs on the same batch. */
  public void addVariant(int v, List<float[]> reference, List<float[]> outputs, int n, int[] labels) {
    for (int o = 0; o < outputs.size(); o++) noise[v].addSquaredErrors(reference.get(o), outputs.get(o));
    if (outputNoise[v] == null) outputNoise[v] = sums(outputs.size());
    for (int o = 0; o < outputs.size(); o++) outputNoise[v][o].addSquaredErrors(reference.get(o), outputs.get(o));
    float[] r = reference.get(0), y = outputs.get(0);
    int classes = y.length / n;
    for (int i = 0; i < n; i++) {
      int a = ArgMax.of(y, i * classes, classes);
      if (a == ArgMax.of(r, i * classes, classes)) agree[v]++;
      if (labels[i] >= 0 && a == labels[i]) correct[v]++;
    }
  }

  public VariantScores merge(VariantScores o) {
    if (o.noise.length != noise.length) throw new IllegalArgumentException("scores of different variant lists");
    signal.merge(o.signal);
    outputSignal = merged(outputSignal, o.outputSignal);
    for (int v = 0; v < noise.length; v++) {
      noise[v].merge(o.noise[v]);
      outputNoise[v] = merged(outputNoise[v], o.outputNoise[v]);
      correct[v] += o.correct[v];
      agree[v] += o.agree[v];
    }
    images += o.images;
    labelled += o.labelled;
    floatCorrect += o.floatCorrect;
    return this;
  }

  public long images() {
    return images;
  }

  /** Whether every image had a label (top-1 is then meaningful). */
  public boolean labelled() {
    return images > 0 && labelled == images;
  }

  public double floatTop1() {
    return labelled == 0 ? Double.NaN : 100.0 * floatCorrect / labelled;
  }

  public double top1(int v) {
    return labelled == 0 ? Double.NaN : 100.0 * correct[v] / labelled;
  }

  /** Share of images (in percent) where variant {@code v} picks the float model's top class. */
  public double agreement(int v) {
    return images == 0 ? Double.NaN : 100.0 * agree[v] / images;
  }

  /** Output SQNR of variant {@code v} in dB (infinite when it equals the float model). */
  public double sqnrDb(int v) {
    return ExactSum.decibels(signal, noise[v]);
  }

  /** The number of model outputs scored (0 before any image). */
  public int outputs() {
    return outputSignal == null ? 0 : outputSignal.length;
  }

  /** The SQNR of variant {@code v}'s output {@code o} (graph output order) in dB. */
  public double outputSqnrDb(int v, int o) {
    if (outputSignal == null || outputNoise[v] == null) return Double.NaN;
    return ExactSum.decibels(outputSignal[o], outputNoise[v][o]);
  }

  /**
   * The mean over the outputs of variant {@code v}'s per-output SQNR in dB: every output counts
   * the same, whatever its size or scale (a model's largest output does not decide alone).
   */
  public double meanOutputSqnrDb(int v) {
    int n = outputs();
    if (n == 0) return Double.NaN;
    double s = 0;
    for (int o = 0; o < n; o++) s += Math.min(outputSqnrDb(v, o), MAX_DB);
    return s / n;
  }

  /** An output equal to float's counts as this many dB in {@link #meanOutputSqnrDb}, so the mean stays finite. */
  static final double MAX_DB = 300;

  private static ExactSum[] sums(int n) {
    ExactSum[] r = new ExactSum[n];
    for (int i = 0; i < n; i++) r[i] = new ExactSum();
    return r;
  }

  /** {@code a} with {@code b} merged in (either may be unallocated: null). */
  private static ExactSum[] merged(ExactSum[] a, ExactSum[] b) {
    if (b == null) return a;
    if (a == null) a = sums(b.length);
    if (a.length != b.length) throw new IllegalArgumentException("scores of models with different outputs");
    for (int i = 0; i < a.length; i++) a[i].merge(b[i]);
    return a;
  }
}

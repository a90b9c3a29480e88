package io.qspark.kernels.quant;

import io.qspark.kernels.tensor.ArgMax;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Paired outcomes of two quantized models of one float model on the same images: on how many
 * images each picks the float model's top class, and how many of those images only one of them
 * gets right. A per-partition buffer with add and merge; the counts are exact, so any decision
 * taken on them is the same for every partitioning.
 *
 * <p>The decision is McNemar's test on the discordant pairs: with b images where only the
 * candidate agrees with the float model and c where only the baseline does, the candidate is
 * better iff b − c > z·sqrt(b + c). Under "no difference" b − c has mean 0 and standard
 * deviation sqrt(b + c) (each discordant image is a fair coin), so z = {@link #Z} = 2 asks for a
 * gain of two standard deviations (about 2.3 % one-sided false keeps). Images both models get
 * right or wrong say nothing about which is better, which is why this is sharper than
 * comparing the two agreement counts: resnet_s at 8 bits had 992 against 989 agreeing images,
 * a gain of 3 that is noise unless the models disagree on fewer than 3 images.
 */
public final class PairedAgreement implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Standard deviations of the discordant-pair noise a gain must exceed. */
  public static final double Z = 2.0;
  private long images;
  private long both;
  private long candidateOnly;
  private long baselineOnly;

  /**
   * Adds a batch of {@code n} images given each model's outputs (n rows of scores, row-major).
   *
   * @param reference the float model's
   */
  public void add(float[] reference, float[] baseline, float[] candidate, int n) {
    int classes = reference.length / n;
    for (int i = 0; i < n; i++) {
      int r = ArgMax.of(reference, i * classes, classes);
      boolean b = ArgMax.of(baseline, i * classes, classes) == r;
      boolean c = ArgMax.of(candidate, i * classes, classes) == r;
      if (b && c) both++;
      else if (c) candidateOnly++;
      else if (b) baselineOnly++;
    }
    images += n;
  }

  public PairedAgreement merge(PairedAgreement o) {
    images += o.images;
    both += o.both;
    candidateOnly += o.candidateOnly;
    baselineOnly += o.baselineOnly;
    return this;
  }

  public long images() {
    return images;
  }

  public long baselineAgreeing() {
    return both + baselineOnly;
  }

  public long candidateAgreeing() {
    return both + candidateOnly;
  }

  /** b: images only the candidate classifies as the float model does. */
  public long candidateOnly() {
    return candidateOnly;
  }

  /** c: images only the baseline classifies as the float model does. */
  public long baselineOnly() {
    return baselineOnly;
  }

  /** Whether the candidate is better by McNemar's rule at {@link #Z}. */
  public boolean candidateBetter() {
    return better(candidateOnly, baselineOnly, Z);
  }

  /** b − c > z·sqrt(b + c), compared squared so the boundary is exact for integer z. */
  public static boolean better(long b, long c, double z) {
    double d = b - c;
    return b > c && d * d > z * z * (b + c);
  }

  /** The counts and the decision, for report.json. */
  public Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("images", images);
    m.put("agreeing_images_without", baselineAgreeing());
    m.put("agreeing_images_with", candidateAgreeing());
    m.put("only_with", candidateOnly);
    m.put("only_without", baselineOnly);
    m.put("z", Z);
    m.put("kept", candidateBetter());
    return m;
  }

  @Override
  public String toString() {
    return String.format(java.util.Locale.ROOT, "%d of %d images agree with the float model with the change, %d without;"
        + " only with: b = %d, only without: c = %d; b - c = %d against %.1f = %.0f x sqrt(b + c): %s",
        candidateAgreeing(), images, baselineAgreeing(), candidateOnly, baselineOnly, candidateOnly - baselineOnly,
        Z * Math.sqrt(candidateOnly + baselineOnly), Z, candidateBetter() ? "kept" : "not kept");
  }
}

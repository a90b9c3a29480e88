package io.qspark.job.eval;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Per-class image and correct counts (top-1, and top-5 overall). Integer counts, so merging in
 * any order and over any partitioning gives the same totals. Immutable.
 */
public final class EvalCounts implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long[] images;
  private final long[] top1;
  private final long top5;
  /** Images where a quantized model picks the float model's class; -1 when not compared. */
  private final long agree;

  public EvalCounts(long[] images, long[] top1, long top5) {
    this(images, top1, top5, -1);
  }

  public EvalCounts(long[] images, long[] top1, long top5, long agree) {
    if (images.length != top1.length) throw new IllegalArgumentException("class counts differ in length");
    this.images = images.clone();
    this.top1 = top1.clone();
    this.top5 = top5;
    this.agree = agree;
  }

  public static EvalCounts empty(int classes) {
    return new EvalCounts(new long[classes], new long[classes], 0);
  }

  public EvalCounts plus(EvalCounts o) {
    int n = Math.max(images.length, o.images.length);
    long[] im = Arrays.copyOf(images, n);
    long[] t1 = Arrays.copyOf(top1, n);
    for (int i = 0; i < o.images.length; i++) {
      im[i] += o.images[i];
      t1[i] += o.top1[i];
    }
    long a = agree < 0 && o.agree < 0 ? -1 : Math.max(0, agree) + Math.max(0, o.agree);
    return new EvalCounts(im, t1, top5 + o.top5, a);
  }

  /** Share of images on which the quantized and float models agree, or NaN if not compared. */
  public double agreementPercent() {
    long n = images();
    return agree < 0 || n == 0 ? Double.NaN : 100.0 * agree / n;
  }

  public int classes() {
    return images.length;
  }

  public long images() {
    return Arrays.stream(images).sum();
  }

  public long top1() {
    return Arrays.stream(top1).sum();
  }

  public long top5() {
    return top5;
  }

  public long images(int cls) {
    return images[cls];
  }

  public long top1(int cls) {
    return top1[cls];
  }

  /** Top-1 in percent (0 for no images). */
  public double top1Percent() {
    long n = images();
    return n == 0 ? 0 : 100.0 * top1() / n;
  }

  public double top5Percent() {
    long n = images();
    return n == 0 ? 0 : 100.0 * top5 / n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EvalCounts e && Arrays.equals(images, e.images) && Arrays.equals(top1, e.top1)
        && top5 == e.top5 && agree == e.agree;
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(images) + Arrays.hashCode(top1) + Long.hashCode(top5) + Long.hashCode(agree);
  }

  @Override
  public String toString() {
    return "EvalCounts{images=" + Arrays.toString(images) + ", top1=" + Arrays.toString(top1) + ", top5=" + top5 + ", agree=" + agree + "}";
  }
}

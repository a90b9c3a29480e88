package io.qspark.job.preprocess;

import java.io.Serializable;

/**
 * One image with its class (-1: unlabelled), either as stored ({@code pixels}: unsigned bytes,
 * see {@link ImageLayout}) or already preprocessed ({@code values}: the model's input, C,H,W).
 * {@code name} says which image it is in errors: a file, a row, or "image 12".
 */
public record LabeledImage(String name, byte[] pixels, float[] values, int label) implements Serializable {
  public LabeledImage {
    if ((pixels == null) == (values == null)) throw new IllegalArgumentException("pixels or values, not both");
  }

  /** The index-th image of a data set, as stored. */
  public LabeledImage(long index, byte[] pixels, int label) {
    this("image " + index, pixels, null, label);
  }

  public static LabeledImage ofPixels(String name, byte[] pixels, int label) {
    return new LabeledImage(name, pixels, null, label);
  }

  public static LabeledImage ofValues(String name, float[] values, int label) {
    return new LabeledImage(name, null, values, label);
  }
}

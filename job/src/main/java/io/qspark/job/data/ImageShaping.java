package io.qspark.job.data;

import io.qspark.job.preprocess.Pixels;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.ImageGeometry;
import java.io.Serializable;

/**
 * Brings decoded images to the one layout of their data set: the data set's channel count,
 * then the resize/crop step, then a size check. One place for every source whose images can
 * differ (files, encoded or raw pixels in a table). Immutable; shipped to tasks.
 */
public record ImageShaping(ImageGeometry geometry, ImageLayout layout) implements Serializable {

  /**
   * The shaping for a data set whose first image is {@code first}: its channels, and its size
   * after the resize/crop step, become everyone's. {@code name} is the first image's, for errors.
   */
  public static ImageShaping from(String name, Pixels first, ImageGeometry geometry) {
    Pixels p = apply(name, first, geometry);
    return new ImageShaping(geometry, p.layout());
  }

  /** The shaping for images that all have the stored layout (raw pixels of known dimensions). */
  public static ImageShaping of(ImageLayout stored, ImageGeometry geometry) {
    int[] out = geometry.output(stored.height(), stored.width());
    return new ImageShaping(geometry, new ImageLayout(stored.channels(), out[0], out[1], false));
  }

  public LabeledImage shape(String name, Pixels image, int label) {
    Pixels p = apply(name, image.withChannels(layout.channels()), geometry);
    if (p.height() != layout.height() || p.width() != layout.width()) {
      String after = geometry.isNone() ? "" : " after " + geometry.describe();
      throw new UserError(name + " is " + p.height() + "x" + p.width() + after + " but the first image is "
          + layout.height() + "x" + layout.width() + "; give --resize and --crop to bring every image to one size");
    }
    return LabeledImage.ofPixels(name, p.data(), label);
  }

  private static Pixels apply(String name, Pixels p, ImageGeometry geometry) {
    try {
      return geometry.apply(p);
    } catch (IllegalArgumentException e) {
      throw new UserError(name + ": " + e.getMessage());
    }
  }
}

package io.qspark.job.preprocess;

import io.qspark.job.preprocess.Pixels;
import java.io.Serializable;

/**
 * The geometric step before {@link Preprocessing}, in torchvision's order: resize so the shorter
 * side is {@code resize} (0: keep the size), then crop the center {@code cropHeight} x
 * {@code cropWidth} (0: no crop). Same sizes and pixels as torchvision's Resize(S) and
 * CenterCrop((H, W)) on PIL images. Immutable; shipped to tasks.
 */
public record ImageGeometry(int resize, int cropHeight, int cropWidth) implements Serializable {
  public static final ImageGeometry NONE = new ImageGeometry(0, 0, 0);

  public ImageGeometry {
    if (resize < 0 || cropHeight < 0 || cropWidth < 0 || (cropHeight == 0) != (cropWidth == 0)) {
      throw new IllegalArgumentException("resize and crop sizes must be positive");
    }
  }

  public boolean isNone() {
    return resize == 0 && cropHeight == 0;
  }

  /** Height and width after resizing, before cropping. */
  int[] resized(int height, int width) {
    if (resize == 0) return new int[] {height, width};
    // torchvision: the longer side is int(S * long / short), truncated
    if (height <= width) return new int[] {resize, (int) ((double) resize * width / height)};
    return new int[] {(int) ((double) resize * height / width), resize};
  }

  /** Height and width of an image of this size after the step. */
  public int[] output(int height, int width) {
    return cropHeight == 0 ? resized(height, width) : new int[] {cropHeight, cropWidth};
  }

  /** @throws IllegalArgumentException when the crop is larger than the (resized) image */
  public Pixels apply(Pixels in) {
    int[] size = resized(in.height(), in.width());
    Pixels p = BilinearResize.resize(in, size[0], size[1]);
    if (cropHeight == 0 || (cropHeight == p.height() && cropWidth == p.width())) return p;
    if (cropHeight > p.height() || cropWidth > p.width()) {
      throw new IllegalArgumentException("--crop " + cropHeight + "," + cropWidth + " is larger than the image, "
          + p.height() + "x" + p.width() + (resize > 0 ? " after --resize " + resize : ""));
    }
    // torchvision rounds the offset half to even (Python's round); Math.rint does the same
    int top = (int) Math.rint((p.height() - cropHeight) / 2.0);
    int left = (int) Math.rint((p.width() - cropWidth) / 2.0);
    byte[] out = new byte[p.channels() * cropHeight * cropWidth];
    for (int c = 0; c < p.channels(); c++) {
      for (int y = 0; y < cropHeight; y++) {
        System.arraycopy(p.data(), (c * p.height() + top + y) * p.width() + left, out,
            (c * cropHeight + y) * cropWidth, cropWidth);
      }
    }
    return new Pixels(p.channels(), cropHeight, cropWidth, out);
  }

  /** The step as flags, for reports; empty when there is none. */
  public String describe() {
    String r = resize > 0 ? "resize " + resize : "";
    String c = cropHeight > 0 ? "center crop " + cropHeight + "x" + cropWidth : "";
    return r.isEmpty() || c.isEmpty() ? r + c : r + ", " + c;
  }
}

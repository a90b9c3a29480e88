package io.qspark.job.preprocess;

/**
 * One decoded image, planar 8-bit: {@code data[c * height * width + y * width + x]}. The common
 * form every pixel source passes through, so channel conversion, resizing and cropping exist
 * once.
 */
public record Pixels(int channels, int height, int width, byte[] data) {
  public Pixels {
    if (data.length != channels * height * width) {
      throw new IllegalArgumentException(data.length + " bytes for " + channels + "x" + height + "x" + width);
    }
  }

  /** One image as a source stores it (interleaved layouts are made planar). */
  public static Pixels of(byte[] stored, ImageLayout layout) {
    if (!layout.channelsLast()) return new Pixels(layout.channels(), layout.height(), layout.width(), stored);
    int c = layout.channels();
    int hw = layout.height() * layout.width();
    byte[] planar = new byte[stored.length];
    for (int i = 0; i < hw; i++) {
      for (int k = 0; k < c; k++) planar[k * hw + i] = stored[i * c + k];
    }
    return new Pixels(c, layout.height(), layout.width(), planar);
  }

  public ImageLayout layout() {
    return new ImageLayout(channels, height, width, false);
  }

  /**
   * The same image with 1 or 3 channels: gray becomes RGB by repeating it (exactly), RGB becomes
   * gray by ITU-R 601 luma in the fixed point PIL's convert("L") uses, so both agree on pixels.
   */
  public Pixels withChannels(int target) {
    if (target == channels) return this;
    int hw = height * width;
    byte[] out = new byte[target * hw];
    if (channels == 1 && target == 3) {
      for (int k = 0; k < 3; k++) System.arraycopy(data, 0, out, k * hw, hw);
    } else if (channels == 3 && target == 1) {
      for (int i = 0; i < hw; i++) {
        int r = data[i] & 0xff;
        int g = data[hw + i] & 0xff;
        int b = data[2 * hw + i] & 0xff;
        out[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
      }
    } else {
      throw new IllegalArgumentException("cannot turn " + channels + " channels into " + target);
    }
    return new Pixels(target, height, width, out);
  }
}

package io.qspark.job.data;

import io.qspark.job.preprocess.Pixels;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.color.ColorSpace;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Encoded image files (PNG, JPEG, and whatever else javax.imageio reads) to 8-bit {@link Pixels}:
 * gray images give one channel, all others RGB; alpha is dropped. Stateless and thread-safe.
 */
public final class ImageDecoder {
  private ImageDecoder() {}

  /** @throws IOException when the bytes are not a readable image; the message says why */
  public static Pixels decode(byte[] bytes) throws IOException {
    // in memory: ImageIO's default stream caches to a temporary file per image
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) throw new IOException("not an image format javax.imageio reads (PNG, JPEG, ...)");
      ImageReader reader = readers.next();
      List<String> truncation = new ArrayList<>();
      try {
        reader.setInput(in, true);
        // a cut-off JPEG decodes "successfully" with gray rows at the bottom, reported only as a warning
        reader.addIIOReadWarningListener((source, warning) -> {
          String w = warning.toLowerCase(Locale.ROOT);
          if (w.contains("truncated") || w.contains("premature end")) truncation.add(warning);
        });
        BufferedImage image = reader.read(0);
        if (!truncation.isEmpty()) throw new IOException("truncated (" + truncation.get(0) + ")");
        return pixels(image);
      } finally {
        reader.dispose();
      }
    } catch (RuntimeException e) { // decoders throw unchecked exceptions on some malformed inputs
      throw new IOException(e.toString(), e);
    }
  }

  private static Pixels pixels(BufferedImage image) throws IOException {
    int w = image.getWidth();
    int h = image.getHeight();
    if ((long) w * h * 3 > Integer.MAX_VALUE) throw new IOException("too large: " + w + "x" + h);
    ColorModel cm = image.getColorModel();
    int hw = w * h;
    if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
      // the raster, not getRGB: getRGB converts linear gray to sRGB and so changes every value
      Raster r = image.getRaster();
      int max = (1 << r.getSampleModel().getSampleSize(0)) - 1;
      int[] s = r.getSamples(0, 0, w, h, 0, new int[hw]);
      byte[] out = new byte[hw];
      for (int i = 0; i < hw; i++) out[i] = (byte) (max == 255 ? s[i] : (s[i] * 255L + max / 2) / max);
      return new Pixels(1, h, w, out);
    }
    int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
    if (cm instanceof IndexColorModel icm && grayPalette(icm)) {
      byte[] out = new byte[hw];
      for (int i = 0; i < hw; i++) out[i] = (byte) argb[i];
      return new Pixels(1, h, w, out);
    }
    byte[] out = new byte[3 * hw];
    for (int i = 0; i < hw; i++) {
      out[i] = (byte) (argb[i] >> 16);
      out[hw + i] = (byte) (argb[i] >> 8);
      out[2 * hw + i] = (byte) argb[i];
    }
    return new Pixels(3, h, w, out);
  }

  /** PNGs of 1, 2 or 4-bit gray come back with a palette of grays. */
  private static boolean grayPalette(IndexColorModel icm) {
    for (int i = 0; i < icm.getMapSize(); i++) {
      if (icm.getRed(i) != icm.getGreen(i) || icm.getRed(i) != icm.getBlue(i)) return false;
    }
    return true;
  }
}

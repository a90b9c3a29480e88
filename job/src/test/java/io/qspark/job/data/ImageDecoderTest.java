package io.qspark.job.data;

import io.qspark.job.preprocess.Pixels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageDecoderTest {
  static byte[] encode(BufferedImage image, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!ImageIO.write(image, format, out)) throw new IOException("no writer for " + format);
    return out.toByteArray();
  }

  static BufferedImage gray(int... values) {
    BufferedImage g = new BufferedImage(values.length, 1, BufferedImage.TYPE_BYTE_GRAY);
    g.getRaster().setSamples(0, 0, values.length, 1, 0, values);
    return g;
  }

  static int[] unsigned(byte[] b) {
    int[] v = new int[b.length];
    for (int i = 0; i < v.length; i++) v[i] = b[i] & 0xff;
    return v;
  }

  @Test
  void grayPngIsOneChannelWithTheStoredValues() throws IOException {
    // 64 is where a color-managed read (BufferedImage.getRGB) would give 137
    Pixels p = ImageDecoder.decode(encode(gray(0, 64, 128, 255), "png"));
    assertEquals(1, p.channels());
    assertArrayEquals(new int[] {0, 64, 128, 255}, unsigned(p.data()));
  }

  @Test
  void rgbPngIsPlanarRgb() throws IOException {
    BufferedImage c = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
    c.setRGB(0, 0, 0x80102030);
    c.setRGB(1, 0, 0xff405060);
    Pixels p = ImageDecoder.decode(encode(c, "png"));
    assertEquals(3, p.channels());
    assertArrayEquals(new int[] {0x10, 0x40, 0x20, 0x50, 0x30, 0x60}, unsigned(p.data()), "alpha dropped");
  }

  @Test
  void sixteenBitGrayIsScaledToEightBits() throws IOException {
    BufferedImage g = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
    g.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {0, 257 * 100, 65535});
    assertArrayEquals(new int[] {0, 100, 255}, unsigned(ImageDecoder.decode(encode(g, "png")).data()));
  }

  @Test
  void aPaletteOfGraysIsGray() throws IOException {
    byte[] levels = {0, (byte) 85, (byte) 170, (byte) 255};
    BufferedImage g = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_BINARY,
        new IndexColorModel(2, 4, levels, levels, levels));
    g.getRaster().setSamples(0, 0, 4, 1, 0, new int[] {3, 2, 1, 0});
    Pixels p = ImageDecoder.decode(encode(g, "png"));
    assertEquals(1, p.channels());
    assertArrayEquals(new int[] {255, 170, 85, 0}, unsigned(p.data()));
  }

  @Test
  void grayJpegIsOneChannel() throws IOException {
    int[] flat = new int[64];
    Arrays.fill(flat, 77);
    BufferedImage g = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
    g.getRaster().setSamples(0, 0, 8, 8, 0, flat);
    Pixels p = ImageDecoder.decode(encode(g, "jpg"));
    assertEquals(1, p.channels());
    for (int v : unsigned(p.data())) assertTrue(Math.abs(v - 77) <= 1, "a flat gray survives JPEG: " + v);
  }

  @Test
  void truncatedAndForeignBytesAreNotImages() throws IOException {
    BufferedImage noise = new BufferedImage(32, 32, BufferedImage.TYPE_3BYTE_BGR);
    java.util.Random r = new java.util.Random(1);
    for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) noise.setRGB(x, y, r.nextInt());
    for (String format : new String[] {"png", "jpg"}) {
      byte[] full = encode(noise, format);
      IOException e = assertThrows(IOException.class, () -> ImageDecoder.decode(Arrays.copyOf(full, full.length / 2)));
      assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), format);
    }
    IOException e = assertThrows(IOException.class, () -> ImageDecoder.decode("not an image".getBytes()));
    assertTrue(e.getMessage().contains("not an image format"), e.getMessage());
    assertThrows(IOException.class, () -> ImageDecoder.decode(new byte[0]));
  }
}

package io.qspark.job.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.preprocess.Pixels;
import org.junit.jupiter.api.Test;

/** Resize and center crop against what Pillow and torchvision produce (expected values from Pillow 9.4). */
class ImageGeometryTest {
  /** A 7x5 gray image with some texture, so rounding and averaging both show. */
  static final int[] IMAGE = {0, 11, 22, 33, 44, 37, 77, 117, 157, 197, 74, 143, 212, 25, 147, 111, 209, 51, 202,
      44, 148, 19, 199, 70, 250, 185, 85, 38, 247, 147, 222, 151, 133, 115, 97};

  static Pixels gray(int h, int w, int[] v) {
    byte[] b = new byte[v.length];
    for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
    return new Pixels(1, h, w, b);
  }

  static int[] unsigned(Pixels p) {
    int[] v = new int[p.data().length];
    for (int i = 0; i < v.length; i++) v[i] = p.data()[i] & 0xff;
    return v;
  }

  @Test
  void shrinkingIsPillowsAntialiasedBilinear() {
    // Image.fromarray(a, "L").resize((3, 4), Image.BILINEAR)
    Pixels p = new ImageGeometry(3, 0, 0).apply(gray(7, 5, IMAGE));
    assertEquals(4, p.height());
    assertEquals(3, p.width());
    assertArrayEquals(new int[] {31, 69, 102, 108, 138, 117, 120, 120, 159, 166, 117, 145}, unsigned(p));
  }

  @Test
  void enlargingIsPillowsBilinear() {
    // .resize((8, 11), Image.BILINEAR): shorter side 5 -> 8, longer int(8 * 7 / 5) = 11
    Pixels p = new ImageGeometry(8, 0, 0).apply(gray(7, 5, IMAGE));
    assertArrayEquals(new int[] {0, 5, 12, 19, 25, 32, 39, 44, 17, 28, 43, 58, 73, 88, 103, 114, 40, 59, 86, 113,
        132, 144, 172, 192, 64, 91, 129, 167, 147, 69, 117, 161, 87, 122, 166, 157, 134, 94, 101, 110, 111, 154, 199,
        100, 98, 193, 113, 44, 135, 115, 91, 127, 137, 120, 150, 175, 158, 105, 44, 118, 144, 121, 176, 222, 182,
        137, 77, 61, 108, 220, 189, 156, 205, 168, 119, 100, 116, 170, 144, 120, 222, 191, 150, 139, 127, 116, 105,
        97}, unsigned(p));
  }

  @Test
  void sizesFollowTorchvision() {
    ImageGeometry g = new ImageGeometry(256, 224, 224);
    assertArrayEquals(new int[] {256, 341}, g.resized(375, 500), "longer side int(256 * 500 / 375)");
    assertArrayEquals(new int[] {384, 256}, g.resized(500, 333), "int(256 * 500 / 333) = 384");
    assertArrayEquals(new int[] {224, 224}, g.output(375, 500));
    assertArrayEquals(new int[] {7, 5}, ImageGeometry.NONE.output(7, 5));
  }

  @Test
  void centerCropRoundsTheOffsetHalfToEven() {
    // 7 rows, crop 4: offset (7 - 4) / 2 = 1.5 rounds to 2 (Python's round); 5 columns, crop 2: 1.5 -> 2
    Pixels c = new ImageGeometry(0, 4, 2).apply(gray(7, 5, IMAGE));
    assertArrayEquals(new int[] {212, 25, 51, 202, 199, 70, 38, 247}, unsigned(c));
  }

  @Test
  void nothingToDoReturnsTheImage() {
    Pixels p = gray(7, 5, IMAGE);
    assertSame(p, ImageGeometry.NONE.apply(p));
    assertSame(p, new ImageGeometry(5, 7, 5).apply(p));
  }

  @Test
  void aCropLargerThanTheImageSaysSo() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ImageGeometry(4, 8, 8).apply(gray(7, 5, IMAGE)));
    assertTrue(e.getMessage().contains("--crop 8,8 is larger than the image, 5x4 after --resize 4"), e.getMessage());
  }

  @Test
  void rgbToGrayIsPillowsConvertL() {
    int n = IMAGE.length;
    byte[] rgb = new byte[3 * n];
    for (int i = 0; i < n; i++) {
      rgb[i] = (byte) IMAGE[i];
      rgb[n + i] = (byte) (255 - IMAGE[i]);
      rgb[2 * n + i] = (byte) (IMAGE[i] / 2);
    }
    Pixels g = new Pixels(3, 7, 5, rgb).withChannels(1);
    assertArrayEquals(new int[] {150, 147, 145, 142, 140, 141, 132, 123, 113, 104, 133, 117, 101, 144, 116, 124, 101,
        138, 103, 140, 115, 145, 104, 134, 92, 107, 130, 141, 93, 116, 98, 115, 119, 123, 127}, unsigned(g));
    Pixels back = gray(7, 5, IMAGE).withChannels(3);
    for (int c = 0; c < 3; c++) {
      assertArrayEquals(IMAGE, java.util.Arrays.copyOfRange(unsigned(back), c * n, (c + 1) * n), "gray repeated");
    }
  }
}

package io.qspark.job.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.qspark.job.preprocess.ImageLayout;
import org.junit.jupiter.api.Test;

class PreprocessingTest {
  @Test
  void grayscaleWithMeanAndStdMatchesTheModelsReadme() {
    Preprocessing p = new Preprocessing(new float[] {72.94f}, new float[] {90.02f}, 255f, null);
    float[] x = new float[2];
    p.apply(new byte[] {0, (byte) 255}, new ImageLayout(1, 1, 2, false), x, 0);
    assertArrayEquals(new float[] {(0 - 72.94f) / 90.02f, (255 - 72.94f) / 90.02f}, x);
  }

  @Test
  void interleavedRgbBecomesPlanarBgrWithPerChannelMean() {
    // two pixels, RGB interleaved: (10,20,30) (40,50,60)
    byte[] px = {10, 20, 30, 40, 50, 60};
    Preprocessing p = new Preprocessing(new float[] {1, 2, 3}, new float[] {1}, 255f, new int[] {2, 1, 0});
    float[] x = new float[7];
    p.apply(px, new ImageLayout(3, 1, 2, true), x, 1);
    assertArrayEquals(new float[] {0, 29, 59, 18, 48, 7, 37}, x);
  }

  @Test
  void rawScaleMapsToZeroOne() {
    Preprocessing p = new Preprocessing(null, null, 1f, null);
    float[] x = new float[1];
    p.apply(new byte[] {(byte) 255}, new ImageLayout(1, 1, 1, false), x, 0);
    assertArrayEquals(new float[] {1f}, x);
  }

  @Test
  void grayToThreeChannels() {
    Preprocessing p = new Preprocessing(null, null, 255f, new int[] {0, 0, 0});
    float[] x = new float[3];
    p.apply(new byte[] {7}, new ImageLayout(1, 1, 1, false), x, 0);
    assertArrayEquals(new float[] {7, 7, 7}, x);
  }

  @Test
  void rejectsWhatCannotWork() {
    assertThrows(IllegalArgumentException.class, () -> new Preprocessing(null, new float[] {0}, 255f, null));
    assertThrows(IllegalArgumentException.class, () -> new Preprocessing(null, null, -1f, null));
    Preprocessing twoMeans = new Preprocessing(new float[] {1, 2}, null, 255f, null);
    assertThrows(IllegalArgumentException.class, () -> twoMeans.check(new ImageLayout(3, 2, 2, false)));
  }
}

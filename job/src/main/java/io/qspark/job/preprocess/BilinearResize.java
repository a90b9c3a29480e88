package io.qspark.job.preprocess;

import io.qspark.job.preprocess.Pixels;

/**
 * Pillow's BILINEAR resampling, integer for integer: a triangle filter widened by the shrink
 * factor (so shrinking averages instead of aliasing), 22-bit fixed-point weights, a horizontal
 * pass rounded to 8 bits, then a vertical one. Pillow is what torchvision's Resize runs on
 * images, so models evaluated here see the pixels they were validated on.
 */
final class BilinearResize {
  private static final int PRECISION_BITS = 32 - 8 - 2;

  private BilinearResize() {}

  static Pixels resize(Pixels in, int height, int width) {
    Pixels p = in;
    if (width != p.width()) p = horizontal(p, width);
    if (height != p.height()) p = vertical(p, height);
    return p;
  }

  /** Taps of each output position: first input index, tap count, then fixed-point weights. */
  private record Taps(int[] first, int[] count, int[] weights, int ksize) {}

  private static Taps taps(int inSize, int outSize) {
    double scale = (double) inSize / outSize;
    double filterScale = Math.max(scale, 1.0);
    double support = filterScale; // the triangle's support is 1, widened by the shrink factor
    int ksize = (int) Math.ceil(support) * 2 + 1;
    int[] first = new int[outSize];
    int[] count = new int[outSize];
    int[] weights = new int[outSize * ksize];
    double[] k = new double[ksize];
    for (int o = 0; o < outSize; o++) {
      double center = (o + 0.5) * scale;
      int min = Math.max((int) (center - support + 0.5), 0);
      int n = Math.min((int) (center + support + 0.5), inSize) - min;
      double sum = 0;
      for (int x = 0; x < n; x++) {
        double t = Math.abs((x + min - center + 0.5) / filterScale);
        k[x] = t < 1.0 ? 1.0 - t : 0.0;
        sum += k[x];
      }
      for (int x = 0; x < n; x++) {
        double v = sum != 0.0 ? k[x] / sum : k[x];
        weights[o * ksize + x] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
      }
      first[o] = min;
      count[o] = n;
    }
    return new Taps(first, count, weights, ksize);
  }

  private static int clip8(long acc) {
    long v = acc >> PRECISION_BITS;
    return (int) (v < 0 ? 0 : Math.min(v, 255));
  }

  private static Pixels horizontal(Pixels p, int width) {
    Taps t = taps(p.width(), width);
    int rows = p.channels() * p.height();
    byte[] src = p.data();
    byte[] out = new byte[rows * width];
    for (int r = 0; r < rows; r++) {
      int s = r * p.width();
      for (int o = 0; o < width; o++) {
        long acc = 1L << (PRECISION_BITS - 1);
        int w = o * t.ksize();
        for (int x = 0; x < t.count()[o]; x++) acc += (src[s + t.first()[o] + x] & 0xff) * (long) t.weights()[w + x];
        out[r * width + o] = (byte) clip8(acc);
      }
    }
    return new Pixels(p.channels(), p.height(), width, out);
  }

  private static Pixels vertical(Pixels p, int height) {
    Taps t = taps(p.height(), height);
    int w = p.width();
    byte[] src = p.data();
    byte[] out = new byte[p.channels() * height * w];
    for (int c = 0; c < p.channels(); c++) {
      int plane = c * p.height() * w;
      for (int o = 0; o < height; o++) {
        int k = o * t.ksize();
        int dst = (c * height + o) * w;
        for (int x = 0; x < w; x++) {
          long acc = 1L << (PRECISION_BITS - 1);
          for (int y = 0; y < t.count()[o]; y++) {
            acc += (src[plane + (t.first()[o] + y) * w + x] & 0xff) * (long) t.weights()[k + y];
          }
          out[dst + x] = (byte) clip8(acc);
        }
      }
    }
    return new Pixels(p.channels(), height, w, out);
  }
}

package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The SIMD kernels' promise that the fake-quant model and the integer simulator rely on: every
 * output is the bias followed by one FMA chain over (input channel, kernel row, kernel column) in
 * that order, padding taps included as products with zero. Checked bit for bit against that
 * chain written out with Math.fma, on shapes that take every path: reductions longer than one
 * packed block ({@link DirectConv#REDUCTION_STEPS}) on 7x7 and 14x14 planes, output channels in
 * several L2 chunks, tiles across images, strides, 1x1 convs in place with tail tiles, depthwise.
 */
class ConvChainOrderTest {
  static Stream<Arguments> shapes() {
    // n, c, h, w, m, k, stride, pad, group
    return Stream.of(
        Arguments.of(2, 512, 7, 7, 24, 3, 1, 1, 1),
        Arguments.of(1, 256, 14, 14, 20, 3, 1, 1, 1),
        Arguments.of(1, 300, 9, 9, 6, 3, 1, 1, 1),
        Arguments.of(2, 256, 14, 14, 16, 3, 2, 1, 1),
        Arguments.of(2, 600, 7, 7, 9, 1, 1, 0, 1),
        Arguments.of(1, 520, 14, 14, 7, 1, 2, 0, 1),
        Arguments.of(1, 40, 11, 11, 5, 7, 2, 3, 1),
        Arguments.of(1, 1024, 5, 5, 36, 3, 1, 1, 1),
        // 300 output channels of 252-step weights: two L2 chunks (DirectConv.CHUNK_BYTES)
        Arguments.of(1, 28, 5, 5, 300, 3, 1, 1, 1),
        Arguments.of(2, 16, 14, 14, 16, 3, 1, 1, 16),
        Arguments.of(1, 64, 28, 28, 8, 3, 1, 1, 2),
        // tiles across images (DirectConv.acrossImages): 7x7 and smaller planes, 128+
        // output channels, more images than one pass takes; 14x14 and 64 channels per image
        Arguments.of(3, 300, 7, 7, 130, 3, 1, 1, 1),
        Arguments.of(2, 32, 14, 14, 128, 3, 1, 1, 1),
        Arguments.of(17, 8, 7, 7, 128, 3, 1, 1, 1),
        Arguments.of(2, 8, 14, 14, 128, 3, 2, 1, 1),
        Arguments.of(2, 24, 9, 9, 66, 3, 1, 1, 1),
        Arguments.of(3, 16, 7, 7, 64, 3, 1, 1, 1));
  }

  @ParameterizedTest(name = "{0}x{1}x{2}x{3} -> {4} k{5} s{6} p{7} g{8}")
  @MethodSource("shapes")
  void everyOutputIsTheBiasThenOneFmaChainInOrder(int n, int c, int h, int w, int m, int k, int stride, int pad,
      int group) {
    Random r = new Random(c * 31 + m * 7 + h);
    Tensor x = ConvKernelsTest.random(r, n, c, h, w);
    Tensor wt = ConvKernelsTest.random(r, m, c / group, k, k);
    Tensor b = ConvKernelsTest.random(r, m);
    Map<String, Object> a = new HashMap<>();
    a.put("strides", new long[] {stride, stride});
    a.put("pads", new long[] {pad, pad, pad, pad});
    a.put("group", (long) group);
    float[] y = new Conv(new Attributes(a), true).forward(new Tensor[] {x, wt, b})[0].data();
    float[] want = chain(x, wt, b, stride, pad, group);
    assertEquals(want.length, y.length);
    for (int i = 0; i < want.length; i++) {
      assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]),
          () -> "output " + indexOfFirstDifference(want, y) + " differs");
    }
  }

  private static int indexOfFirstDifference(float[] a, float[] b) {
    for (int i = 0; i < a.length; i++) if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) return i;
    return -1;
  }

  private static float[] chain(Tensor x, Tensor w, Tensor b, int s, int p, int g) {
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    int m = w.dim(0), cg = w.dim(1), k = w.dim(2);
    int oh = (h + 2 * p - k) / s + 1, ow = (wd + 2 * p - k) / s + 1;
    float[] xd = x.data(), wv = w.data(), bd = b.data();
    float[] y = new float[n * m * oh * ow];
    int mg = m / g;
    for (int ni = 0; ni < n; ni++) {
      for (int oc = 0; oc < m; oc++) {
        int gi = oc / mg;
        for (int oy = 0; oy < oh; oy++) {
          for (int ox = 0; ox < ow; ox++) {
            float acc = bd[oc];
            for (int ci = 0; ci < cg; ci++) {
              for (int ki = 0; ki < k; ki++) {
                for (int kj = 0; kj < k; kj++) {
                  int iy = oy * s - p + ki, ix = ox * s - p + kj;
                  boolean in = iy >= 0 && iy < h && ix >= 0 && ix < wd;
                  float xv = in ? xd[((ni * c + gi * cg + ci) * h + iy) * wd + ix] : 0f;
                  acc = Math.fma(xv, wv[((oc * cg + ci) * k + ki) * k + kj], acc);
                }
              }
            }
            y[((ni * m + oc) * oh + oy) * ow + ox] = acc;
          }
        }
      }
    }
    return y;
  }
}

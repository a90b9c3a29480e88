package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both conv kernels (SIMD and im2col + BLAS) against a plain six-loop convolution in double precision, on random
 * shapes covering the tile edges (widths not a multiple of 4, channel counts not a multiple
 * of 16), strides, dilations, asymmetric pads, groups and fused activations.
 */
class ConvKernelsTest {
  @Test
  void simdKernelIsActiveInTests() {
    assertTrue(Conv.SIMD, "tests run with --add-modules jdk.incubator.vector (root pom argLine)");
  }

  static Stream<Arguments> cases() {
    return shapes().flatMap(a -> Stream.of(true, false).map(simd -> {
      Object[] o = java.util.Arrays.copyOf(a.get(), a.get().length + 1);
      o[o.length - 1] = simd;
      return Arguments.of(o);
    }));
  }

  static Stream<Arguments> shapes() {
    // n, c, h, w, m, k, stride, dilation, pads(t,l,b,r), group
    return Stream.of(
        Arguments.of(2, 16, 28, 28, 16, 3, 1, 1, new int[] {1, 1, 1, 1}, 1),
        Arguments.of(3, 3, 11, 13, 5, 3, 1, 1, new int[] {1, 1, 1, 1}, 1),
        Arguments.of(2, 16, 14, 14, 32, 3, 2, 1, new int[] {1, 1, 1, 1}, 1),
        Arguments.of(1, 7, 9, 10, 17, 5, 2, 1, new int[] {2, 1, 0, 2}, 1),
        Arguments.of(2, 8, 12, 12, 24, 3, 1, 2, new int[] {2, 2, 2, 2}, 1),
        Arguments.of(2, 32, 7, 7, 64, 1, 1, 1, new int[] {0, 0, 0, 0}, 1),
        Arguments.of(1, 8, 10, 10, 12, 3, 1, 1, new int[] {1, 1, 1, 1}, 2),
        Arguments.of(1, 1, 28, 28, 16, 3, 1, 1, new int[] {1, 1, 1, 1}, 1),
        Arguments.of(1, 4, 6, 5, 3, 7, 3, 1, new int[] {3, 3, 3, 3}, 1));
  }

  @ParameterizedTest(name = "{0}x{1}x{2}x{3} -> {4} k{5} s{6} d{7} g{9} simd={10}")
  @MethodSource("cases")
  void matchesPlainConvolution(int n, int c, int h, int w, int m, int k, int stride, int dil,
      int[] pads, int group, boolean simd) {
    Random r = new Random(n * 131 + c * 17 + m);
    Tensor x = random(r, n, c, h, w);
    Tensor wt = random(r, m, c / group, k, k);
    Tensor b = random(r, m);
    Map<String, Object> a = new HashMap<>();
    a.put("strides", new long[] {stride, stride});
    a.put("dilations", new long[] {dil, dil});
    a.put("pads", new long[] {pads[0], pads[1], pads[2], pads[3]});
    a.put("group", (long) group);
    a.put("activation", "LeakyRelu");
    a.put("activation_alpha", 0.1f);
    Tensor y = new Conv(new Attributes(a), simd).forward(new Tensor[] {x, wt, b})[0];
    double[] ref = reference(x, wt, b, stride, dil, pads, group);
    assertEquals(ref.length, y.size());
    float[] yd = y.data();
    for (int i = 0; i < ref.length; i++) {
      double want = ref[i] >= 0 ? ref[i] : ref[i] * 0.1f;
      assertEquals(want, yd[i], 1e-4 * (1 + Math.abs(want)), "element " + i);
    }
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void resultOfAnImageDoesNotDependOnItsBatch(boolean simd) {
    Random r = new Random(7);
    Tensor x = random(r, 5, 16, 14, 14);
    Tensor wt = random(r, 32, 16, 3, 3);
    Map<String, Object> a = new HashMap<>();
    a.put("pads", new long[] {1, 1, 1, 1});
    Conv conv = new Conv(new Attributes(a), simd);
    float[] all = conv.forward(new Tensor[] {x, wt, null})[0].data();
    int per = all.length / 5;
    for (int i = 0; i < 5; i++) {
      float[] one = conv.forward(new Tensor[] {x.slice0(i, i + 1), wt, null})[0].data();
      assertArrayEquals(java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per), one);
    }
  }

  static Tensor random(Random r, int... shape) {
    Tensor t = Tensor.zeros(shape);
    float[] d = t.data();
    for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
    return t;
  }

  static double[] reference(Tensor x, Tensor w, Tensor b, int s, int d, int[] p, int g) {
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    int m = w.dim(0), cg = w.dim(1), k = w.dim(2);
    int oh = (h + p[0] + p[2] - d * (k - 1) - 1) / s + 1;
    int ow = (wd + p[1] + p[3] - d * (k - 1) - 1) / s + 1;
    float[] xd = x.data(), wdta = w.data(), bd = b.data();
    double[] y = new double[n * m * oh * ow];
    int mg = m / g;
    for (int ni = 0; ni < n; ni++)
      for (int oc = 0; oc < m; oc++)
        for (int oy = 0; oy < oh; oy++)
          for (int ox = 0; ox < ow; ox++) {
            double acc = bd[oc];
            int gi = oc / mg;
            for (int ci = 0; ci < cg; ci++)
              for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                  int iy = oy * s - p[0] + ki * d, ix = ox * s - p[1] + kj * d;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                  acc += (double) xd[((ni * c + gi * cg + ci) * h + iy) * wd + ix]
                      * wdta[((oc * cg + ci) * k + ki) * k + kj];
                }
            y[((ni * m + oc) * oh + oy) * ow + ox] = acc;
          }
    return y;
  }
}

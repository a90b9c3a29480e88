package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both conv kernels (SIMD and im2col + BLAS / scalar depthwise) against a plain six-loop
 * convolution in double precision, on random shapes covering the tile edges (output planes not a
 * multiple of the 16-pixel tile, channel counts not a multiple of the 6-channel block), strides,
 * dilations, asymmetric pads, groups, depthwise convs (3x3 and other sizes, with a channel
 * multiplier) and every fused activation the kernels treat differently.
 */
class ConvKernelsTest {
  @Test
  void simdKernelIsActiveInTests() {
    assertTrue(Conv.SIMD, "tests run with --add-modules jdk.incubator.vector (root pom argLine)");
  }

  /** Fused activations: none, the in-register clamps (ReLU, ReLU6, a clip below zero), and one applied after. */
  static final String[] ACTIVATIONS = {"none", "Relu", "Clip:0:6", "Clip:-0.5:1.5", "LeakyRelu"};

  /** Each shape with both kernels and two activations, the pairs rotating through all of them. */
  static Stream<Arguments> cases() {
    List<Arguments> shapes = shapes().toList();
    List<Arguments> out = new ArrayList<>();
    for (int i = 0; i < shapes.size(); i++) {
      for (int j = 0; j < 2; j++) {
        String act = ACTIVATIONS[(2 * i + j) % ACTIVATIONS.length];
        for (boolean simd : new boolean[] {true, false}) {
          Object[] o = Arrays.copyOf(shapes.get(i).get(), shapes.get(i).get().length + 2);
          o[o.length - 2] = simd;
          o[o.length - 1] = act;
          out.add(Arguments.of(o));
        }
      }
    }
    return out.stream();
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
        Arguments.of(2, 24, 8, 8, 13, 1, 1, 1, new int[] {0, 0, 0, 0}, 1),
        Arguments.of(2, 16, 13, 13, 23, 1, 2, 1, new int[] {0, 0, 0, 0}, 1),
        Arguments.of(1, 5, 6, 7, 11, 1, 1, 1, new int[] {1, 0, 1, 2}, 1),
        Arguments.of(1, 6, 9, 9, 7, 3, 1, 1, new int[] {0, 0, 0, 0}, 1),
        Arguments.of(1, 8, 10, 10, 12, 3, 1, 1, new int[] {1, 1, 1, 1}, 2),
        Arguments.of(1, 1, 28, 28, 16, 3, 1, 1, new int[] {1, 1, 1, 1}, 1),
        // kLen 2304: the reduction in blocks (DirectConv.REDUCTION_STEPS)
        Arguments.of(1, 256, 5, 5, 72, 3, 1, 1, new int[] {1, 1, 1, 1}, 1),
        Arguments.of(1, 4, 6, 5, 3, 7, 3, 1, new int[] {3, 3, 3, 3}, 1),
        // planes smaller than a vector: copies out of the computed plane must stay in the array
        Arguments.of(2, 3, 2, 2, 4, 3, 1, 1, new int[] {1, 1, 1, 1}, 1),
        Arguments.of(2, 3, 3, 3, 3, 3, 1, 1, new int[] {1, 1, 1, 1}, 3),
        // output rows of 2 (a vector spans 4): no spill into the next image's plane of an earlier group
        Arguments.of(3, 4, 5, 3, 4, 2, 1, 1, new int[] {0, 0, 0, 0}, 2),
        // depthwise: 3x3 (its own kernel) at stride 1 and 2, widths below, at and above a vector
        Arguments.of(2, 8, 14, 14, 8, 3, 1, 1, new int[] {1, 1, 1, 1}, 8),
        Arguments.of(2, 12, 7, 7, 12, 3, 1, 1, new int[] {1, 1, 1, 1}, 12),
        Arguments.of(1, 5, 13, 11, 5, 3, 2, 1, new int[] {1, 1, 1, 1}, 5),
        Arguments.of(2, 6, 14, 14, 6, 3, 2, 1, new int[] {1, 1, 1, 1}, 6),
        Arguments.of(1, 3, 21, 19, 3, 3, 1, 1, new int[] {0, 0, 0, 0}, 3),
        Arguments.of(1, 4, 9, 10, 4, 3, 2, 2, new int[] {2, 1, 0, 2}, 4),
        Arguments.of(1, 3, 5, 4, 3, 3, 1, 1, new int[] {1, 1, 1, 1}, 3),
        // depthwise 5x5 and with a channel multiplier: the general kernel
        Arguments.of(1, 6, 10, 9, 6, 5, 1, 1, new int[] {2, 2, 2, 2}, 6),
        Arguments.of(1, 4, 8, 8, 8, 3, 1, 1, new int[] {1, 1, 1, 1}, 4));
  }

  @ParameterizedTest(name = "{0}x{1}x{2}x{3} -> {4} k{5} s{6} d{7} g{9} simd={10} {11}")
  @MethodSource("cases")
  void matchesPlainConvolution(int n, int c, int h, int w, int m, int k, int stride, int dil,
      int[] pads, int group, boolean simd, String activation) {
    Random r = new Random(n * 131 + c * 17 + m);
    Tensor x = random(r, n, c, h, w);
    Tensor wt = random(r, m, c / group, k, k);
    Tensor b = random(r, m);
    Map<String, Object> a = new HashMap<>();
    a.put("strides", new long[] {stride, stride});
    a.put("dilations", new long[] {dil, dil});
    a.put("pads", new long[] {pads[0], pads[1], pads[2], pads[3]});
    a.put("group", (long) group);
    String[] act = activation.split(":");
    if (!act[0].equals("none")) a.put("activation", act[0]);
    if (act[0].equals("LeakyRelu")) a.put("activation_alpha", 0.1f);
    float lo = act.length > 1 ? Float.parseFloat(act[1]) : 0f;
    float hi = act.length > 2 ? Float.parseFloat(act[2]) : 0f;
    if (act[0].equals("Clip")) {
      a.put("activation_min", lo);
      a.put("activation_max", hi);
    }
    Tensor y = new Conv(new Attributes(a), simd).forward(new Tensor[] {x, wt, b})[0];
    double[] ref = reference(x, wt, b, stride, dil, pads, group);
    assertEquals(ref.length, y.size());
    float[] yd = y.data();
    for (int i = 0; i < ref.length; i++) {
      double want = switch (act[0]) {
        case "Relu" -> Math.max(ref[i], 0);
        case "Clip" -> Math.min(Math.max(ref[i], lo), hi);
        case "LeakyRelu" -> ref[i] >= 0 ? ref[i] : ref[i] * 0.1f;
        default -> ref[i];
      };
      assertEquals(want, yd[i], 1e-4 * (1 + Math.abs(want)), "element " + i);
    }
  }

  static Stream<Arguments> batchCases() {
    // c, h, w, m, k, stride, pad, group: dense 3x3 (on 7x7 with tiles across images), 1x1 in place (the pixels past the last
    // whole tile of 16 and 4 images share tail tiles), 1x1 stride 2, depthwise 3x3 at stride 1 and 2
    return Stream.of(
        Arguments.of(16, 14, 14, 32, 3, 1, 1, 1),
        Arguments.of(16, 7, 7, 128, 3, 1, 1, 1),
        Arguments.of(24, 7, 7, 20, 1, 1, 0, 1),
        Arguments.of(8, 14, 14, 12, 1, 1, 0, 1),
        Arguments.of(16, 13, 13, 8, 1, 2, 0, 1),
        Arguments.of(24, 14, 14, 24, 3, 1, 1, 24),
        Arguments.of(24, 13, 13, 24, 3, 2, 1, 24))
        .flatMap(a -> Stream.of(true, false).map(simd -> {
          Object[] o = Arrays.copyOf(a.get(), a.get().length + 1);
          o[o.length - 1] = simd;
          return Arguments.of(o);
        }));
  }

  @ParameterizedTest(name = "{0}x{1}x{2} -> {3} k{4} s{5} p{6} g{7} simd={8}")
  @MethodSource("batchCases")
  void resultOfAnImageDoesNotDependOnItsBatch(int c, int h, int w, int m, int k, int stride, int pad,
      int group, boolean simd) {
    Random r = new Random(7);
    Tensor x = random(r, 5, c, h, w);
    Tensor wt = random(r, m, c / group, k, k);
    Tensor b = random(r, m);
    Map<String, Object> a = new HashMap<>();
    a.put("pads", new long[] {pad, pad, pad, pad});
    a.put("strides", new long[] {stride, stride});
    a.put("group", (long) group);
    a.put("activation", "Relu");
    Conv conv = new Conv(new Attributes(a), simd);
    float[] all = conv.forward(new Tensor[] {x, wt, b})[0].data();
    int per = all.length / 5;
    for (int i = 0; i < 5; i++) {
      float[] one = conv.forward(new Tensor[] {x.slice0(i, i + 1), wt, b})[0].data();
      assertArrayEquals(Arrays.copyOfRange(all, i * per, (i + 1) * per), one);
    }
    // and a batch of three starting at image 2
    float[] three = conv.forward(new Tensor[] {x.slice0(2, 5), wt, b})[0].data();
    assertArrayEquals(Arrays.copyOfRange(all, 2 * per, 5 * per), three);
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

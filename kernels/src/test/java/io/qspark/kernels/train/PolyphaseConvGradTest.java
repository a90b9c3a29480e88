package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Both gradients of strided convs, by ConvGrad's default paths and by phase planes
 * ({@link PolyphaseConvGrad}) whether or not ConvGrad takes them for the shape, against the
 * im2col GEMM and col2im reference: strides 2 and 3 (also unequal), kernels 1 to 7, pads 0..3 and
 * asymmetric (beyond the kernel's reach too), dilation, odd and even sizes (phase planes of
 * different sizes), groups, one image and several, and random shapes.
 */
class PolyphaseConvGradTest {
  @Test
  void pointwiseStrideTwo() {
    check(3, 16, 8, 1, 14, 14, 1, 1, 2, 2, 1, new long[] {0, 0, 0, 0});
    check(2, 8, 8, 1, 15, 9, 1, 1, 2, 2, 1, new long[] {0, 0, 0, 0});
  }

  @Test
  void threeByThreeStrideTwoPadOne() {
    check(4, 16, 32, 1, 14, 14, 3, 3, 2, 2, 1, new long[] {1, 1, 1, 1});
    check(1, 6, 5, 1, 15, 13, 3, 3, 2, 2, 1, new long[] {1, 1, 1, 1});
  }

  @Test
  void strideThree() {
    check(2, 4, 6, 1, 17, 16, 3, 3, 3, 3, 1, new long[] {1, 1, 1, 1});
    check(2, 4, 6, 1, 20, 19, 5, 5, 3, 3, 1, new long[] {2, 1, 0, 3});
  }

  @Test
  void unequalStrides() {
    check(2, 4, 6, 1, 12, 13, 3, 3, 2, 1, 1, new long[] {1, 1, 1, 1});
    check(2, 4, 6, 2, 12, 13, 3, 5, 1, 3, 1, new long[] {0, 2, 1, 2});
  }

  @Test
  void largeKernels() {
    check(2, 3, 8, 1, 32, 31, 7, 7, 2, 2, 1, new long[] {3, 3, 3, 3});
    check(3, 4, 4, 1, 11, 12, 5, 5, 2, 2, 1, new long[] {2, 2, 2, 2});
  }

  @Test
  void asymmetricAndWidePads() {
    check(2, 4, 6, 1, 9, 10, 3, 3, 2, 2, 1, new long[] {0, 1, 2, 0});
    check(2, 4, 6, 1, 9, 8, 3, 3, 2, 2, 1, new long[] {3, 0, 1, 3});
    check(2, 4, 6, 1, 7, 8, 1, 1, 2, 2, 1, new long[] {3, 2, 1, 3});
  }

  @Test
  void dilationTwo() {
    check(2, 4, 6, 1, 16, 15, 3, 3, 2, 2, 2, new long[] {2, 2, 2, 2});
    check(2, 4, 6, 1, 17, 16, 3, 3, 3, 3, 2, new long[] {1, 2, 0, 1});
  }

  @Test
  void groups() {
    check(3, 8, 12, 2, 14, 13, 3, 3, 2, 2, 1, new long[] {1, 1, 1, 1});
  }

  @Test
  void depthwise() {
    check(5, 24, 24, 24, 14, 14, 3, 3, 2, 2, 1, new long[] {1, 1, 1, 1});
    check(2, 8, 8, 8, 15, 15, 5, 5, 2, 2, 1, new long[] {2, 2, 2, 2});
    check(1, 8, 8, 8, 7, 8, 3, 3, 2, 2, 1, new long[] {0, 0, 1, 1});
  }

  /** A network's stem: one input channel, no input gradient wanted (and with one). */
  @Test
  void stem() {
    check(4, 1, 16, 1, 28, 28, 3, 3, 2, 2, 1, new long[] {1, 1, 1, 1});
  }

  @Test
  void randomShapes() {
    Random r = new Random(20261124);
    for (int trial = 0; trial < 40; trial++) {
      int g = r.nextInt(3) == 0 ? 1 + r.nextInt(3) : 1, depthwise = r.nextInt(4);
      int c = g * (1 + r.nextInt(4)), m = g * (1 + r.nextInt(4));
      if (depthwise == 0) {
        g = c;
        m = c;
      }
      int kh = 1 + r.nextInt(5), kw = 1 + r.nextInt(5), sh = 1 + r.nextInt(3), sw = 2 + r.nextInt(2);
      int d = 1 + r.nextInt(2);
      long[] pads = {r.nextInt(4), r.nextInt(4), r.nextInt(4), r.nextInt(4)};
      int h = Math.max(1, d * (kh - 1) + 1 - (int) (pads[0] + pads[2])) + r.nextInt(12);
      int w = Math.max(1, d * (kw - 1) + 1 - (int) (pads[1] + pads[3])) + r.nextInt(12);
      check(1 + r.nextInt(3), c, m, g, h, w, kh, kw, sh, sw, d, pads);
    }
  }

  private static void check(int n, int c, int m, int g, int h, int w, int kh, int kw, int sh, int sw, int d, long[] pads) {
    Random r = new Random(n * 31 + c * 7 + kh + 13 * sh + h);
    Attributes a = new Attributes(Map.of()).with("group", (long) g).with("pads", pads)
        .with("strides", new long[] {sh, sw}).with("dilations", new long[] {d, d});
    String what = "n" + n + " c" + c + " m" + m + " g" + g + " " + h + "x" + w + " k" + kh + "x" + kw
        + " s" + sh + "x" + sw + " d" + d + " pads " + java.util.Arrays.toString(pads);
    Tensor x = GradCheckTest.rand(r, 1, n, c, h, w), wt = GradCheckTest.rand(r, 0.3, m, c / g, kh, kw), b = GradCheckTest.rand(r, 1, m);
    Tensor y = new Conv(a).forward(new Tensor[] {x, wt, b})[0];
    Tensor dy = GradCheckTest.rand(r, 1, y.shape());
    Tensor[] in = {x, wt, b};
    Tensor[] ref = new ConvGrad(a, true, false).backward(in, y, dy);
    poisonScratch();
    Tensor[] got = new ConvGrad(a, true, true).backward(in, y, dy);
    near(ref[0].data(), got[0].data(), "dX of " + what);
    near(ref[1].data(), got[1].data(), "dW of " + what);
    assertArrayEquals(ref[2].data(), got[2].data(), "dB of " + what);
    // both phase-plane gradients, whichever paths ConvGrad takes for this shape
    ConvGeometry geo = new ConvGeometry(a, kh, kw, "Conv");
    PolyphaseConvGrad phases = new PolyphaseConvGrad(new ConvShape(x.shape(), y.shape(), g, geo, geo.pads(h, w)));
    poisonScratch();
    near(ref[1].data(), phases.weightGradient(x.data(), dy.data()), "phase-plane dW of " + what);
    near(ref[0].data(), phases.inputGradient(dy.data(), wt.data()), "phase-plane dX of " + what);
    // without the input gradient, the same dW; and the same bits on a second run
    poisonScratch();
    Tensor[] noDx = new ConvGrad(a, false, true).backward(in, y, dy);
    assertArrayEquals(got[1].data(), noDx[1].data(), "dW without dX of " + what);
    assertArrayEquals(got[0].data(), new ConvGrad(a, true, true).backward(in, y, dy)[0].data(), "dX rerun of " + what);
  }

  /** Within float rounding relative to the gradient's magnitude. */
  private static void near(float[] ref, float[] got, String what) {
    assertEquals(ref.length, got.length, what);
    double scale = 0;
    for (float v : ref) scale = Math.max(scale, Math.abs(v));
    for (int i = 0; i < ref.length; i++) {
      assertEquals(ref[i], got[i], 1e-5 * scale + 1e-6, what + " [" + i + "] of " + ref.length);
    }
  }

  /** Leftovers of another layer in the shared buffers, NaN included, must not leak in. */
  private static void poisonScratch() {
    Scratch s = Scratch.get();
    for (int slot = 1; slot < Scratch.SLOTS; slot++) {
      FloatBuffer buf = s.buffer(slot, 1 << 16);
      for (int i = 0; i < buf.capacity(); i++) buf.put(i, Float.NaN);
    }
  }
}

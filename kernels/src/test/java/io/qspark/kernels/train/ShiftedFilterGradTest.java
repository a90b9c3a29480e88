package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * The stride-1 weight gradient without im2col ({@link ShiftedFilterGrad}, both its GEMM-per-tap
 * and its dot-product paths) against the im2col GEMM it replaced, on the layouts where a shifted
 * read wraps around a row or into the next image: kernel sizes, pads (asymmetric, larger than the
 * kernel's reach), dilation, groups, one image and blocks of several.
 */
class ShiftedFilterGradTest {
  @Test
  void pointwise() {
    check(3, 16, 8, 1, 7, 9, 1, 1, Map.of());
    // input channels in threes: the SIMD kernel's blocks of three output channels
    check(3, 24, 14, 1, 7, 9, 1, 1, Map.of());
  }

  @Test
  void threeByThreePadOne() {
    check(5, 16, 32, 1, 14, 14, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
  }

  @Test
  void fiveByFivePadTwoOneImage() {
    check(1, 8, 12, 1, 11, 10, 5, 5, Map.of("pads", new long[] {2, 2, 2, 2}));
  }

  @Test
  void dilationTwo() {
    check(4, 8, 8, 1, 12, 13, 3, 3, Map.of("pads", new long[] {2, 2, 2, 2}, "dilations", new long[] {2, 2}));
  }

  @Test
  void asymmetricPadsAndKernel() {
    check(3, 6, 10, 1, 9, 8, 3, 2, Map.of("pads", new long[] {0, 1, 2, 0}));
  }

  /** Pads beyond the kernel's reach: dX needs the column path, dW without it (no input gradient). */
  @Test
  void padsWiderThanTheKernel() {
    check(2, 4, 6, 1, 6, 5, 3, 3, Map.of("pads", new long[] {3, 0, 1, 4}));
  }

  @Test
  void twoGroups() {
    check(3, 16, 8, 2, 10, 10, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
  }

  @Test
  void depthwise() {
    check(6, 24, 24, 24, 14, 14, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
  }

  @Test
  void depthwiseFiveByFiveDilated() {
    check(2, 5, 5, 5, 13, 11, 5, 5, Map.of("pads", new long[] {4, 3, 4, 5}, "dilations", new long[] {2, 2}));
  }

  @Test
  void smallGroups() {
    check(3, 8, 8, 4, 9, 9, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
  }

  /** One input channel (a network's stem): a GEMV, by dots without the Vector API. */
  @Test
  void oneInputChannelByDots() {
    check(4, 1, 16, 1, 28, 28, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
  }

  /** Rows of 7 floats (the layout's vector row copy runs one float into the pad and next row) and of 3 (plain copies). */
  @Test
  void shortRows() {
    check(5, 8, 12, 1, 7, 7, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
    check(5, 8, 12, 1, 3, 3, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
    check(3, 4, 8, 1, 4, 9, 3, 3, Map.of("pads", new long[] {0, 2, 1, 0}));
  }

  /** Enough images for several GEMM blocks, the last one partial. */
  @Test
  void blockBoundaries() {
    ShiftedFilterGrad f = new ShiftedFilterGrad(new ConvShape(new int[] {17, 16, 72, 72}, new int[] {17, 16, 72, 72}, 1,
        ConvGeometry.window(3, 3, 1, 1, 1, 1), new int[] {1, 1, 1, 1}));
    int per = f.imagesPerBlock();
    assertTrue(per < 17 && 17 % per != 0, "images per block " + per);
    check(17, 16, 16, 1, 72, 72, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
    // the heap layout's (SIMD path's) blocks, the last one partial
    ShiftedFilterGrad h = new ShiftedFilterGrad(new ConvShape(new int[] {7, 8, 28, 28}, new int[] {7, 8, 28, 28}, 1,
        ConvGeometry.window(3, 3, 1, 1, 1, 1), new int[] {1, 1, 1, 1}));
    int heap = h.heapImagesPerBlock();
    assertTrue(heap > 1 && heap < 7 && 7 % heap != 0, "images per heap block " + heap);
    check(7, 8, 8, 1, 28, 28, 3, 3, Map.of("pads", new long[] {1, 1, 1, 1}));
  }

  private static void check(int n, int c, int m, int g, int h, int w, int kh, int kw, Map<String, Object> attrs) {
    Random r = new Random(n * 31 + c * 7 + kh);
    Attributes a = new Attributes(Map.of()).with("group", (long) g);
    for (Map.Entry<String, Object> e : attrs.entrySet()) a = a.with(e.getKey(), (long[]) e.getValue());
    Tensor x = GradCheckTest.rand(r, 1, n, c, h, w), wt = GradCheckTest.rand(r, 0.3, m, c / g, kh, kw), b = GradCheckTest.rand(r, 1, m);
    Tensor y = new Conv(a).forward(new Tensor[] {x, wt, b})[0];
    Tensor dy = GradCheckTest.rand(r, 1, y.shape());
    Tensor[] in = {x, wt, b};
    Tensor[] ref = new ConvGrad(a, false, false).backward(in, y, dy);
    poisonScratch();
    Tensor[] got = new ConvGrad(a, false, true).backward(in, y, dy);
    float[] dw = got[1].data(), rw = ref[1].data();
    double scale = 0;
    for (float v : rw) scale = Math.max(scale, Math.abs(v));
    for (int i = 0; i < dw.length; i++) {
      assertEquals(rw[i], dw[i], 1e-5 * scale + 1e-6, "dW[" + i + "] of " + dw.length);
    }
    assertArrayEquals(ref[2].data(), got[2].data(), "dB");
    // every path, not only the one this shape takes
    ConvGeometry geo = new ConvGeometry(a, kh, kw, "Conv");
    ShiftedFilterGrad f = new ShiftedFilterGrad(new ConvShape(x.shape(), y.shape(), g, geo, geo.pads(h, w)));
    for (ShiftedFilterGrad.Path path : ShiftedFilterGrad.Path.values()) {
      if (path == ShiftedFilterGrad.Path.SIMD && !Conv.SIMD) continue;
      poisonScratch();
      float[] p = f.weightGradient(x.data(), dy.data(), path);
      for (int i = 0; i < dw.length; i++) assertEquals(rw[i], p[i], 1e-5 * scale + 1e-6, path + " dW[" + i + "]");
    }
    // the same bits on a second run
    poisonScratch();
    assertArrayEquals(dw, new ConvGrad(a, false, true).backward(in, y, dy)[1].data());
    // with the input gradient: dX untouched (pads beyond the kernel's reach take dW through the columns)
    Tensor[] withDx = new ConvGrad(a, true, true).backward(in, y, dy);
    assertArrayEquals(new ConvGrad(a, true, false).backward(in, y, dy)[0].data(), withDx[0].data(), "dX");
    for (int i = 0; i < dw.length; i++) assertEquals(rw[i], withDx[1].data()[i], 1e-5 * scale + 1e-6, "dW[" + i + "]");
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

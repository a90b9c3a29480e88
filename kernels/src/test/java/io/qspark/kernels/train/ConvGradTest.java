package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * ConvGrad's blocks of images: a layer large enough that a micro-batch spans several GEMM
 * blocks (including a partial one) gives the gradients of the images taken one at a time.
 * (The finite-difference checks in {@link GradCheckTest} use small layers, one block.)
 */
class ConvGradTest {
  /** Stride 1 (dX as a transposed conv), grouped. */
  @Test
  void blocksOfImagesGiveThePerImageGradients() {
    check(56, 2, new Attributes(Map.of("pads", new long[] {1, 1, 1, 1}, "group", 2L)));
  }

  /** Stride 2 (dX through the column GEMM and col2im). */
  @Test
  void stridedBlocksGiveThePerImageGradients() {
    check(112, 1, new Attributes(Map.of("pads", new long[] {1, 0, 1, 1}, "strides", new long[] {2, 2})));
  }

  private static void check(int hw, int groups, Attributes a) {
    Random r = new Random(60);
    int n = 5, c = 16;
    Tensor x = GradCheckTest.rand(r, 1, n, c, hw, hw), w = GradCheckTest.rand(r, 0.2, 8, c / groups, 3, 3), b = GradCheckTest.rand(r, 1, 8);
    Tensor y = new Conv(a).forward(new Tensor[] {x, w, b})[0];
    assertTrue(ConvGrad.BLOCK / (c / groups * 9 * y.dim(2) * y.dim(3)) < n, "the layer must need several blocks");
    Tensor dy = GradCheckTest.rand(r, 1, y.shape());
    Tensor[] all = new ConvGrad(a).backward(new Tensor[] {x, w, b}, y, dy);
    double[] dw = new double[w.size()], db = new double[8];
    int per = x.size() / n;
    for (int i = 0; i < n; i++) {
      Tensor[] one = new ConvGrad(a).backward(new Tensor[] {x.slice0(i, i + 1), w, b}, y.slice0(i, i + 1), dy.slice0(i, i + 1));
      for (int j = 0; j < per; j++) assertEquals(one[0].data()[j], all[0].data()[i * per + j], 1e-5, "dx of image " + i);
      for (int j = 0; j < dw.length; j++) dw[j] += one[1].data()[j];
      for (int j = 0; j < db.length; j++) db[j] += one[2].data()[j];
    }
    for (int j = 0; j < dw.length; j++) assertEquals(dw[j], all[1].data()[j], 1e-3 + 1e-4 * Math.abs(dw[j]), "dW[" + j + "]");
    for (int j = 0; j < db.length; j++) assertEquals(db[j], all[2].data()[j], 1e-3 + 1e-4 * Math.abs(db[j]), "dB[" + j + "]");
    // without the input gradient: the same weight gradient, bit for bit, and no dX
    Tensor[] noDx = new ConvGrad(a, false).backward(new Tensor[] {x, w, b}, y, dy);
    assertNull(noDx[0]);
    org.junit.jupiter.api.Assertions.assertArrayEquals(all[1].data(), noDx[1].data());
  }
}

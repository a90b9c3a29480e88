package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Gemm's fixed-order product against its scalar statement, against double sums, and batch by batch. */
class FixedOrderGemmTest {
  /** Every dot product equals the scalar reference's bits, for k under, at and past the lanes and every tail. */
  @Test
  void vectorPathIsTheScalarOrder() {
    Random r = new Random(7);
    for (int k : new int[] {1, 5, 15, 16, 17, 31, 32, 47, 64, 100, 1280}) {
      int rows = 3, n = 5;
      float[] a = values(r, rows * k), bt = values(r, n * k), y = new float[rows * n];
      FixedOrderGemm.rows(a, 0, bt, y, rows, n, k, 1f);
      for (int i = 0; i < rows; i++) {
        for (int o = 0; o < n; o++) {
          float want = FixedOrderGemm.dotReference(a, i * k, bt, o * k, k);
          assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(y[i * n + o]), "k=" + k + " row " + i + " col " + o);
        }
      }
    }
  }

  /** Close to the sum in double (an independent computation): float rounding only. */
  @Test
  void agreesWithDoubleSums() {
    Random r = new Random(8);
    int rows = 4, n = 10, k = 512;
    float[] a = values(r, rows * k), bt = values(r, n * k), y = new float[rows * n];
    FixedOrderGemm.rows(a, 0, bt, y, rows, n, k, 1f);
    for (int i = 0; i < rows; i++) {
      for (int o = 0; o < n; o++) {
        double d = 0, mag = 0;
        for (int j = 0; j < k; j++) {
          d += (double) a[i * k + j] * bt[o * k + j];
          mag += Math.abs((double) a[i * k + j] * bt[o * k + j]);
        }
        assertTrue(Math.abs(y[i * n + o] - d) <= 1e-6 * mag, "row " + i + " col " + o + ": " + y[i * n + o] + " vs " + d);
      }
    }
  }

  /** The Gemm op: an image's logits are the same bits alone and inside a batch, with transB 0 and 1. */
  @Test
  void rowDoesNotDependOnItsBatch() {
    Random r = new Random(9);
    int n = 10, k = 200, batch = 37;
    for (int transB = 0; transB <= 1; transB++) {
      Tensor b = transB == 1 ? Tensor.of(values(r, n * k), n, k) : Tensor.of(values(r, k * n), k, n);
      Tensor c = Tensor.of(values(r, n), n);
      Map<String, Object> at = new HashMap<>();
      at.put("transB", (long) transB);
      Gemm g = new Gemm(new Attributes(at));
      float[] x = values(r, batch * k);
      float[] all = g.forward(new Tensor[] {Tensor.of(x, batch, k), b, c})[0].data();
      for (int i = 0; i < batch; i += 6) {
        float[] one = g.forward(new Tensor[] {Tensor.of(java.util.Arrays.copyOfRange(x, i * k, (i + 1) * k), 1, k), b, c})[0].data();
        for (int o = 0; o < n; o++) {
          assertEquals(Float.floatToIntBits(all[i * n + o]), Float.floatToIntBits(one[o]), "transB " + transB + " image " + i);
        }
      }
    }
  }

  private static float[] values(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }
}

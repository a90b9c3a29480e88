package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.quant.AccumulatorBound;
import io.qspark.kernels.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A 3x3x512 conv and a long fully connected layer on integers whose partial sums climb past
 * 2^24 and come back: one float accumulation loses low bits on the way (so a quantized result
 * could round differently from the DPU's), the chunked exact path equals the long
 * accumulation on every output.
 */
class ExactConvTest {
  private static final int C = 512, M = 6, H = 5, K = C * 9;
  /** A fully connected layer's reduction, long enough to round in BLAS's blocked sums. */
  private static final int KG = 1 << 17;

  @Test
  void chunkedSumsEqualLongAccumulationWhereFloatDoesNot() {
    Random rnd = new Random(3);
    float[] x = new float[2 * C * H * H];
    for (int i = 0; i < x.length; i++) x[i] = 100 + rnd.nextInt(28); // near the int8 maximum
    // first half of every filter positive, second half negative: partial sums reach ~3e7
    float[] w = new float[M * K];
    for (int o = 0; o < M; o++) {
      for (int i = 0; i < K; i++) w[o * K + i] = (i < K / 2 ? 1 : -1) * (90 + rnd.nextInt(38));
    }
    float[] b = new float[M];
    for (int o = 0; o < M; o++) b[o] = rnd.nextInt(255) - 127;
    long[] exact = longConv(x, w, b);
    float[] plain = conv(x, w, b, 0);
    int chunk = AccumulatorBound.chunk(127, 8);
    assertTrue(chunk < K, "the test needs several chunks, got " + chunk);
    float[] chunked = conv(x, w, b, chunk);
    int plainDiffers = 0;
    for (int i = 0; i < exact.length; i++) {
      assertTrue(Math.abs(exact[i]) < AccumulatorBound.FLOAT_EXACT, "the result itself fits float: " + exact[i]);
      assertEquals((float) exact[i], chunked[i], "output " + i);
      if (plain[i] != (float) exact[i]) plainDiffers++;
    }
    assertTrue(plainDiffers > 0, "one float sum should have lost bits somewhere");
  }

  @Test
  void chunkedGemmEqualsLongAccumulationWhereFloatDoesNot() {
    Random rnd = new Random(9);
    int rows = 3;
    // BLAS keeps up to 32 partial sums per row, each of which must pass 2^24 for float to round
    float[] x = new float[rows * KG];
    for (int i = 0; i < x.length; i++) x[i] = 100 + rnd.nextInt(28);
    float[] w = new float[M * KG];
    for (int o = 0; o < M; o++) {
      for (int i = 0; i < KG; i++) w[o * KG + i] = (i < KG / 2 ? 1 : -1) * (90 + rnd.nextInt(38));
    }
    float[] b = new float[M];
    for (int o = 0; o < M; o++) b[o] = rnd.nextInt(255) - 127;
    int differs = 0;
    float[] plain = gemm(x, w, b, rows, 0);
    float[] chunked = gemm(x, w, b, rows, AccumulatorBound.chunk(127, 8));
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < M; o++) {
        long acc = (long) b[o];
        for (int i = 0; i < KG; i++) acc += (long) x[r * KG + i] * (long) w[o * KG + i];
        assertEquals((float) acc, chunked[r * M + o], "row " + r + " output " + o);
        if (plain[r * M + o] != (float) acc) differs++;
      }
    }
    assertTrue(differs > 0, "one float sum should have lost bits somewhere");
  }

  private static float[] gemm(float[] x, float[] w, float[] b, int rows, int chunk) {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("transB", 1L);
    if (chunk > 0) a.put(ExactConv.CHUNK, (long) chunk);
    return new Gemm(new Attributes(a)).forward(new Tensor[] {Tensor.of(x, rows, KG), Tensor.of(w, M, KG), Tensor.of(b, M)})[0].data();
  }

  private static float[] conv(float[] x, float[] w, float[] b, int chunk) {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("kernel_shape", new long[] {3, 3});
    a.put("pads", new long[] {1, 1, 1, 1});
    if (chunk > 0) a.put(ExactConv.CHUNK, (long) chunk);
    return new Conv(new Attributes(a)).forward(new Tensor[] {Tensor.of(x, 2, C, H, H), Tensor.of(w, M, C, 3, 3), Tensor.of(b, M)})[0].data();
  }

  private static long[] longConv(float[] x, float[] w, float[] b) {
    long[] out = new long[2 * M * H * H];
    for (int n = 0; n < 2; n++) {
      for (int o = 0; o < M; o++) {
        for (int oy = 0; oy < H; oy++) {
          for (int ox = 0; ox < H; ox++) {
            long acc = (long) b[o];
            for (int c = 0; c < C; c++) {
              for (int ky = 0; ky < 3; ky++) {
                for (int kx = 0; kx < 3; kx++) {
                  int iy = oy + ky - 1, ix = ox + kx - 1;
                  if (iy < 0 || iy >= H || ix < 0 || ix >= H) continue;
                  acc += (long) x[((n * C + c) * H + iy) * H + ix] * (long) w[((o * C + c) * 3 + ky) * 3 + kx];
                }
              }
            }
            out[((n * M + o) * H + oy) * H + ox] = acc;
          }
        }
      }
    }
    return out;
  }
}

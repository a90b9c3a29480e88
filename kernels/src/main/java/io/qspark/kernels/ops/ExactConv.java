package io.qspark.kernels.ops;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.blas.GemmShape;

/**
 * Convolution sums that stay exact where one float accumulation would not: the reduction
 * (input channel, kernel row, kernel column) is cut into chunks of at most {@code chunk} steps,
 * each chunk summed in float by one GEMM, the chunk sums added in double. For quantized
 * operands (integers times powers of two) whose chunk sums provably fit float's 24-bit
 * significand, every chunk sum is exact in any summation order, and so is their double total:
 * the result is the exact sum of products, whatever BLAS's blocking. Used by the fake-quant
 * model and the integer simulator for layers beyond the 2^24 bound (ImageNet-size convs).
 */
public final class ExactConv {
  /**
   * Node attribute (internal: the ONNX exporter drops "__" attributes) asking Conv or Gemm to
   * accumulate exactly in chunks of this many reduction steps.
   */
  public static final String CHUNK = "__exact_chunk";

  private ExactConv() {}

  /**
   * Sums of products, without bias: x [n, c, h, wd], w [m, c / g, kh, kw], sums [n, m, oh, ow]
   * as doubles (the shapes of s).
   */
  public static void sums(float[] x, float[] w, double[] sums, ConvShape s, int chunk) {
    if (chunk < 1) throw new OpException("exact conv: chunk " + chunk);
    final int n = s.batch(), m = s.outChannels(), g = s.groups(), mg = s.groupOutChannels();
    ConvWorkspace ws = ConvWorkspace.of(w, s);
    final int k = ws.k, p = ws.p;
    float[] part = new float[mg * p];
    // one GEMM per chunk of the reduction: mg x kc weights (rows k apart) by kc x p columns
    GemmShape[] chunks = new GemmShape[(k + chunk - 1) / chunk];
    for (int k0 = 0; k0 < k; k0 += chunk) chunks[k0 / chunk] = new GemmShape(false, false, mg, p, Math.min(chunk, k - k0), k, p, p);
    for (int ni = 0; ni < n; ni++) {
      for (int gi = 0; gi < g; gi++) {
        ws.unfold(x, ni, gi);
        int dst = (ni * m + gi * mg) * p;
        for (int i = dst; i < dst + mg * p; i++) sums[i] = 0;
        for (int k0 = 0; k0 < k; k0 += chunk) {
          ws.weights.position((long) gi * mg * k + k0);
          Blas.sgemm(chunks[k0 / chunk], 1f, ws.weights, ws.colPointer.position((long) k0 * p), 0f, ws.resultPointer.position(0));
          ws.result.get(0, part, 0, mg * p);
          for (int i = 0; i < mg * p; i++) sums[dst + i] += part[i];
        }
      }
    }
    ws.rewind();
  }

  /** Exact dot products of a's rows [rows, k] with w's rows [m, k] (a Gemm with transB), as doubles [rows, m]. */
  public static void dots(float[] a, float[] w, double[] out, int rows, int k, int m, int chunk) {
    if (chunk < 1) throw new OpException("exact gemm: chunk " + chunk);
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < m; o++) {
        double total = 0;
        for (int k0 = 0; k0 < k; k0 += chunk) {
          float s = 0f;
          for (int i = k0, e = Math.min(k, k0 + chunk); i < e; i++) s += a[r * k + i] * w[o * k + i];
          total += s;
        }
        out[r * m + o] = total;
      }
    }
  }
}

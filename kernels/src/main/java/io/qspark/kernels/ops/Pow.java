package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Pow with numpy broadcasting; the result has the base's type. Float bases compute
 * {@code (float) Math.pow(x, y)} in double (so x² rounds once, as a float x·x does); int64
 * bases (shape arithmetic) an exact integer power.
 */
public final class Pow implements Op {
  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor a = in[0], b = in[1];
    Tensor[] both = Expand.broadcastAll(a, b);
    Tensor ab = both[0], bb = both[1];
    int[] shape = ab.shape();
    int n = ab.size();
    if (a.isFloat()) {
      float[] x = ab.data(), y = bb.asFloats(), r = Arena.floats(n);
      for (int i = 0; i < n; i++) r[i] = (float) Math.pow(x[i], y[i]);
      return new Tensor[] {Tensor.of(r, shape)};
    }
    long[] x = ab.longs(), r = new long[n];
    if (b.isFloat()) {
      float[] y = bb.data();
      for (int i = 0; i < n; i++) r[i] = (long) Math.pow(x[i], y[i]);
    } else {
      long[] y = bb.longs();
      for (int i = 0; i < n; i++) r[i] = power(x[i], y[i]);
    }
    return new Tensor[] {Tensor.ofLongs(r, shape)};
  }

  private static long power(long base, long exp) {
    if (exp < 0) return base == 1 ? 1 : base == -1 ? (exp % 2 == 0 ? 1 : -1) : 0;
    long r = 1;
    for (long e = exp, b = base; e > 0; e >>= 1, b *= b) if ((e & 1) != 0) r *= b;
    return r;
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** Axis permutation (default: reverse the axes), float or int64. */
public final class Transpose implements Op {
  private final long[] perm;

  public Transpose(Attributes a) {
    this.perm = a.getInts("perm", null);
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int r = x.rank();
    int[] p = permutation(r);
    int[] xs = x.shape();
    int[] xst = Shapes.strides(xs);
    int[] shape = new int[r];
    int[] st = new int[r]; // input stride of each output axis
    for (int d = 0; d < r; d++) {
      shape[d] = xs[p[d]];
      st[d] = xst[p[d]];
    }
    int n = x.size();
    int[] src = new int[n];
    if (n > 0 && r > 0) {
      int inner = shape[r - 1], innerStride = st[r - 1];
      int[] idx = new int[r];
      int base = 0;
      for (int o = 0; o < n; o += inner) {
        for (int j = 0; j < inner; j++) src[o + j] = base + j * innerStride;
        for (int d = r - 2; d >= 0; d--) {
          base += st[d];
          if (++idx[d] < shape[d]) break;
          base -= st[d] * shape[d];
          idx[d] = 0;
        }
      }
    }
    return new Tensor[] {Elements.gather(x, src, shape, 0)};
  }

  private int[] permutation(int r) {
    int[] p = new int[r];
    if (perm == null) {
      for (int d = 0; d < r; d++) p[d] = r - 1 - d;
      return p;
    }
    if (perm.length != r) {
      throw new OpException("Transpose: perm has " + perm.length + " axes, input has rank " + r);
    }
    boolean[] seen = new boolean[r];
    for (int d = 0; d < r; d++) {
      if (perm[d] < 0 || perm[d] >= r || seen[(int) perm[d]]) {
        throw new OpException("Transpose: perm " + java.util.Arrays.toString(perm)
            + " is not a permutation of 0.." + (r - 1));
      }
      seen[(int) perm[d]] = true;
      p[d] = (int) perm[d];
    }
    return p;
  }

  @Override
  public String describe() {
    return perm == null ? "" : "perm=" + java.util.Arrays.toString(perm);
  }
}

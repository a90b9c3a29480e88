package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Transpose;
import io.qspark.kernels.tensor.Tensor;

/** Backward of Transpose: the output gradient transposed back by the inverse permutation. */
public final class TransposeGrad implements OpGrad {
  private final long[] perm;

  public TransposeGrad(Attributes a) {
    this.perm = a.getInts("perm", null);
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    int r = in[0].rank();
    long[] inverse = new long[r];
    for (int d = 0; d < r; d++) inverse[perm == null ? r - 1 - d : (int) perm[d]] = d;
    Tensor dx = new Transpose(Attributes.empty().with("perm", inverse)).forward(new Tensor[] {dy})[0];
    return new Tensor[] {dx};
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of MatMul with a 2-D right operand (a fully connected layer on [.., K] inputs, as
 * exporters write Linear): the left operand's leading axes are rows of one GEMM.
 */
public final class MatMulGrad implements OpGrad {
  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor a = in[0], b = in[1];
    if (b.rank() != 2 || a.rank() < 2) {
      throw new OpException("MatMul gradient: only [.., K] x [K, N] is supported, got " + a + " x " + b);
    }
    int k = b.dim(0), n = b.dim(1), m = a.size() / k;
    float[] dy = dyT.data();
    float[] da = Scratch.matmul(false, true, m, k, n, dy, b.data());
    float[] db = Scratch.matmul(true, false, k, n, m, a.data(), dy);
    return new Tensor[] {Tensor.of(da, a.shape()), Tensor.of(db, b.shape())};
  }
}

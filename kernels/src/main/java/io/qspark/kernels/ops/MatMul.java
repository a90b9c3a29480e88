package io.qspark.kernels.ops;

import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/** numpy matmul: batched over leading dimensions with broadcasting; 1-D operands promoted. */
public final class MatMul implements Op {
  @Override
  public Tensor[] forward(Tensor[] in) {
    int[] as = in[0].shape();
    int[] bs = in[1].shape();
    boolean aVec = as.length == 1;
    boolean bVec = bs.length == 1;
    if (aVec) as = new int[] {1, as[0]};
    if (bVec) bs = new int[] {bs[0], 1};
    int m = as[as.length - 2], k = as[as.length - 1];
    int kb = bs[bs.length - 2], n = bs[bs.length - 1];
    if (k != kb) {
      throw new OpException("MatMul: inner dimensions differ: " + Tensor.shapeString(in[0].shape())
          + " x " + Tensor.shapeString(in[1].shape()));
    }
    int[] aBatch = java.util.Arrays.copyOf(as, as.length - 2);
    int[] bBatch = java.util.Arrays.copyOf(bs, bs.length - 2);
    int[] batch = Shapes.broadcast(aBatch, bBatch);
    int[] aSt = Shapes.broadcastStrides(aBatch, batch);
    int[] bSt = Shapes.broadcastStrides(bBatch, batch);
    int nb = Shapes.size(batch);
    float[] a = in[0].data();
    float[] b = in[1].data();
    float[] y = Arena.floats(nb * m * n);
    int[] idx = new int[batch.length];
    GemmShape gemm = GemmShape.of(false, false, m, n, k);
    for (int bi = 0; bi < nb; bi++) {
      int ao = 0, bo = 0;
      for (int d = 0; d < batch.length; d++) {
        ao += idx[d] * aSt[d];
        bo += idx[d] * bSt[d];
      }
      // a 2-D a holds one image per row: computed row by row, as Gemm does
      if (in[0].shape().length == 2) {
        Gemm.matmulByRows(gemm, 1f, a, ao * m * k, b, bo * k * n, y, bi * m * n);
      } else {
        Gemm.matmul(gemm, 1f, a, ao * m * k, b, bo * k * n, y, bi * m * n);
      }
      for (int d = batch.length - 1; d >= 0; d--) {
        if (++idx[d] < batch[d]) break;
        idx[d] = 0;
      }
    }
    int[] shape = new int[batch.length + (aVec ? 0 : 1) + (bVec ? 0 : 1)];
    System.arraycopy(batch, 0, shape, 0, batch.length);
    int p = batch.length;
    if (!aVec) shape[p++] = m;
    if (!bVec) shape[p] = n;
    return new Tensor[] {Tensor.of(y, shape)};
  }

  @Override
  public long macs(int[][] in, int[][] out) {
    return (long) Shapes.size(out[0]) * in[0][in[0].length - 1];
  }
}

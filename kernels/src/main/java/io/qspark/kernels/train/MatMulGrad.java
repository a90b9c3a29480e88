package io.qspark.kernels.train;

import io.qspark.kernels.ops.Shapes;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of numpy MatMul. A fully connected layer on [.., K] inputs by a 2-D [K, N] weight
 * (as exporters write Linear) is one GEMM per gradient with the left operand's leading axes as
 * rows. Any other pair (a batched product of two activations, 1-D operands promoted as numpy
 * does) goes per batch matrix: dA = dY·Bᵀ and dB = Aᵀ·dY of each product, summed over the
 * batch axes an operand was broadcast along, in batch order.
 */
public final class MatMulGrad implements OpGrad {
  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor a = in[0], b = in[1];
    if (b.rank() != 2 || a.rank() < 2) return batched(a, b, dyT.data());
    int k = b.dim(0), n = b.dim(1), m = a.size() / k;
    float[] dy = dyT.data();
    float[] da = Scratch.matmul(false, true, m, k, n, dy, b.data());
    float[] db = Scratch.matmul(true, false, k, n, m, a.data(), dy);
    return new Tensor[] {Tensor.of(da, a.shape()), Tensor.of(db, b.shape())};
  }

  private static Tensor[] batched(Tensor a, Tensor b, float[] dy) {
    int[] as = a.rank() == 1 ? new int[] {1, a.dim(0)} : a.shape();
    int[] bs = b.rank() == 1 ? new int[] {b.dim(0), 1} : b.shape();
    int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
    int[] aBatch = java.util.Arrays.copyOf(as, as.length - 2), bBatch = java.util.Arrays.copyOf(bs, bs.length - 2);
    int[] batch = Shapes.broadcast(aBatch, bBatch);
    int[] aSt = Shapes.broadcastStrides(aBatch, batch), bSt = Shapes.broadcastStrides(bBatch, batch);
    float[] ad = a.data(), bd = b.data();
    float[] da = new float[ad.length], db = new float[bd.length];
    int[] idx = new int[batch.length];
    for (int bi = 0, nb = Shapes.size(batch); bi < nb; bi++) {
      int ao = 0, bo = 0;
      for (int d = 0; d < batch.length; d++) {
        ao += idx[d] * aSt[d];
        bo += idx[d] * bSt[d];
      }
      float[] g = java.util.Arrays.copyOfRange(dy, bi * m * n, (bi + 1) * m * n);
      float[] am = java.util.Arrays.copyOfRange(ad, ao * m * k, (ao + 1) * m * k);
      float[] bm = java.util.Arrays.copyOfRange(bd, bo * k * n, (bo + 1) * k * n);
      add(da, ao * m * k, Scratch.matmul(false, true, m, k, n, g, bm));
      add(db, bo * k * n, Scratch.matmul(true, false, k, n, m, am, g));
      for (int d = batch.length - 1; d >= 0; d--) {
        if (++idx[d] < batch[d]) break;
        idx[d] = 0;
      }
    }
    return new Tensor[] {Tensor.of(da, a.shape()), Tensor.of(db, b.shape())};
  }

  private static void add(float[] acc, int off, float[] x) {
    for (int i = 0; i < x.length; i++) acc[off + i] += x[i];
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of ONNX Gemm, Y = act(alpha op(A) op(B) + beta C): dA and dB are GEMMs of the
 * (activation-masked) output gradient with the other operand; dC sums it over C's broadcast
 * axes.
 */
public final class GemmGrad implements OpGrad {
  private final float alpha;
  private final float beta;
  private final boolean transA;
  private final boolean transB;
  private final Activation activation;

  public GemmGrad(Attributes a) {
    this.activation = Activation.fused(a);
    this.alpha = a.getFloat("alpha", 1f);
    this.beta = a.getFloat("beta", 1f);
    this.transA = a.getInt("transA", 0) != 0;
    this.transB = a.getInt("transB", 0) != 0;
  }

  public Activation activation() {
    return activation;
  }

  public boolean transB() {
    return transB;
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor a = in[0], b = in[1];
    int m = out.dim(0), n = out.dim(1);
    int k = transA ? a.dim(0) : a.dim(1);
    float[] dy = dyT.data().clone();
    ActivationGrad.fromOutput(activation, out.data(), dy, 0, dy.length);
    // dop(A) = dY op(B)^T, dop(B) = op(A)^T dY; a transposed operand takes the transpose
    float[] da = transA ? Scratch.matmul(transB, true, k, m, n, b.data(), dy)
        : Scratch.matmul(false, !transB, m, k, n, dy, b.data());
    float[] db = transB ? Scratch.matmul(true, transA, n, k, m, dy, a.data())
        : Scratch.matmul(!transA, false, k, n, m, a.data(), dy);
    scale(da, alpha);
    scale(db, alpha);
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(da, a.shape());
    r[1] = Tensor.of(db, b.shape());
    if (in.length > 2 && in[2] != null) {
      float[] dc = Broadcasts.reduce(dy, new int[] {m, n}, in[2].shape());
      scale(dc, beta);
      r[2] = Tensor.of(dc, in[2].shape());
    }
    return r;
  }

  static void scale(float[] x, float s) {
    if (s != 1f) for (int i = 0; i < x.length; i++) x[i] *= s;
  }
}

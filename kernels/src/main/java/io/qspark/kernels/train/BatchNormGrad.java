package io.qspark.kernels.train;

import io.qspark.kernels.ops.BatchNormalization;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of BatchNormalization, y = (x - mean) / sqrt(var + eps) * scale + B, with the running
 * statistics as constants (inference mode): gradients for x, scale and B. Training on batch
 * statistics is {@link io.qspark.kernels.ops.QatBatchNorm}'s, with {@link QatBatchNormGrad}.
 */
public final class BatchNormGrad implements OpGrad {
  private final float epsilon;

  public BatchNormGrad(io.qspark.kernels.graph.Attributes a) {
    this.epsilon = a.getFloat("epsilon", 1e-5f);
    if (a.getInt(BatchNormalization.BATCH_STATISTICS, 0) != 0) {
      throw new UnsupportedOperationException("BatchNormalization on batch statistics trains as QatBatchNorm");
    }
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor x = in[0];
    int n = x.dim(0), c = x.dim(1);
    int inner = x.size() / Math.max(1, n * c);
    float[] s = in[1].data(), mu = in[3].data(), v = in[4].data();
    float[] xd = x.data(), dy = dyT.data();
    float[] dx = new float[xd.length];
    double[] ds = new double[c], dbeta = new double[c];
    for (int ci = 0; ci < c; ci++) {
      double inv = 1.0 / Math.sqrt((double) v[ci] + epsilon);
      float mul = (float) (s[ci] * inv);
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) {
          dx[i] = dy[i] * mul;
          ds[ci] += dy[i] * (xd[i] - mu[ci]) * inv;
          dbeta[ci] += dy[i];
        }
      }
    }
    float[] gs = new float[c], gb = new float[c];
    for (int ci = 0; ci < c; ci++) {
      gs[ci] = (float) ds[ci];
      gb[ci] = (float) dbeta[ci];
    }
    return new Tensor[] {Tensor.of(dx, x.shape()), Tensor.of(gs, c), Tensor.of(gb, c), null, null};
  }
}

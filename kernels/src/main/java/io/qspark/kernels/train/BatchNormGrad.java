package io.qspark.kernels.train;

import io.qspark.kernels.ops.BatchNormalization;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of BatchNormalization, y = (x - mean) / sqrt(var + eps) * scale + B: with the running
 * statistics as constants (inference mode), or through the batch's own statistics (QAT's
 * training graph, {@link BatchNormalization#BATCH_STATISTICS}): gradients for x, scale and B.
 */
public final class BatchNormGrad implements OpGrad {
  private final float epsilon;
  private final boolean training;

  public BatchNormGrad(io.qspark.kernels.graph.Attributes a) {
    this.epsilon = a.getFloat("epsilon", 1e-5f);
    this.training = a.getInt(BatchNormalization.BATCH_STATISTICS, 0) != 0;
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    if (training) return batchBackward(in, dyT);
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

  /**
   * With x^ = (x - mu_B) / sigma_B over the m = N*H*W values of a channel:
   * dx = scale / sigma_B * (dy - mean(dy) - x^ mean(dy x^)), dscale = sum(dy x^), dB = sum(dy).
   */
  private Tensor[] batchBackward(Tensor[] in, Tensor dyT) {
    Tensor x = in[0];
    int n = x.dim(0), c = x.dim(1);
    int inner = x.size() / Math.max(1, n * c);
    double[][] st = BatchNormalization.batchStatistics(x);
    float[] s = in[1].data(), xd = x.data(), dy = dyT.data();
    float[] dx = new float[xd.length], gs = new float[c], gb = new float[c];
    double m = (double) n * inner;
    for (int ci = 0; ci < c; ci++) {
      double inv = 1.0 / Math.sqrt(st[1][ci] + epsilon), mu = st[0][ci];
      double sdy = 0, sdyx = 0;
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) {
          sdy += dy[i];
          sdyx += dy[i] * ((xd[i] - mu) * inv);
        }
      }
      gs[ci] = (float) sdyx;
      gb[ci] = (float) sdy;
      double k = s[ci] * inv, mdy = sdy / m, mdyx = sdyx / m;
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) dx[i] = (float) (k * (dy[i] - mdy - (xd[i] - mu) * inv * mdyx));
      }
    }
    return new Tensor[] {Tensor.of(dx, x.shape()), Tensor.of(gs, c), Tensor.of(gb, c), null, null};
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/** Inference-mode BatchNormalization over axis 1: y = (x - mean) / sqrt(var + eps) * scale + B. */
public final class BatchNormalization implements Op {
  private final float epsilon;

  public BatchNormalization(Attributes a) {
    this.epsilon = a.getFloat("epsilon", 1e-5f);
    if (a.getInt("training_mode", 0) != 0) {
      throw new OpException("BatchNormalization: training_mode=1 is not an inference graph");
    }
  }

  public float epsilon() {
    return epsilon;
  }

  /** Per-channel {multiplier, offset} so that y = x * mul + off; shared with BatchNorm folding. */
  public float[][] affine(Tensor scale, Tensor bias, Tensor mean, Tensor var) {
    int c = scale.size();
    float[] mul = new float[c];
    float[] off = new float[c];
    float[] s = scale.data(), b = bias.data(), mu = mean.data(), v = var.data();
    for (int i = 0; i < c; i++) {
      mul[i] = (float) (s[i] / Math.sqrt((double) v[i] + epsilon));
      off[i] = b[i] - mu[i] * mul[i];
    }
    return new float[][] {mul, off};
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    int c = x.rank() > 1 ? x.dim(1) : 1;
    for (int i = 1; i <= 4; i++) {
      if (in[i].size() != c) {
        throw new OpException("BatchNormalization: input has " + c + " channels, parameter " + i
            + " has " + in[i].size() + " values");
      }
    }
    float[][] ab = affine(in[1], in[2], in[3], in[4]);
    int n = x.dim(0);
    int inner = x.size() / Math.max(1, n * c);
    float[] xd = x.data();
    float[] y = new float[xd.length];
    for (int ni = 0; ni < n; ni++) {
      for (int ci = 0; ci < c; ci++) {
        float mul = ab[0][ci], off = ab[1][ci];
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) y[i] = xd[i] * mul + off;
      }
    }
    return new Tensor[] {Tensor.of(y, x.shape())};
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * QAT's BatchNormalization on batch statistics, with the Conv → BN pair's unfold and the
 * following activation in the same op: inputs (Z, scale, B, running_mean, running_var
 * [, divisor]), u = Z / divisor per channel (the pair's γ/σ_running, absent for a BatchNorm no
 * conv precedes), y = act((u - mean_B) / sqrt(var_B + eps) * scale + B) with the batch's own
 * mean and population variance of u. Outputs Y, mean_B and var_B: the statistics are computed
 * once per step and reused by the backward and by the trainer's running-statistics update.
 * The passes (unfold, statistics, variance, output) stream over one block of channels after
 * another, on {@link BatchNormLoops}' vectors. The arithmetic is that of Div, then {@link BatchNormalization}
 * with {@link BatchNormalization#BATCH_STATISTICS}, then the activation, value for value.
 */
public final class QatBatchNorm implements Op {
  public static final String OP_TYPE = "QatBatchNorm";
  public static final String DOMAIN = OpRegistry.QSPARK_DOMAIN;

  private final float epsilon;
  private final Activation activation;

  public QatBatchNorm(Attributes a) {
    this.epsilon = a.getFloat("epsilon", 1e-5f);
    this.activation = Activation.fused(a);
  }

  public float epsilon() {
    return epsilon;
  }

  public Activation activation() {
    return activation;
  }

  /** BatchNorm's per-channel {multiplier, offset} from the batch statistics, as the inference op computes them. */
  public static float mul(float scale, double var, float epsilon) {
    return (float) (scale * (1.0 / Math.sqrt(var + epsilon)));
  }

  public static float off(float scale, float bias, double mean, double var, float epsilon) {
    return (float) (bias - mean * scale * (1.0 / Math.sqrt(var + epsilon)));
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor z = in[0];
    int n = z.dim(0), c = z.rank() > 1 ? z.dim(1) : 1;
    for (int i = 1; i <= 4; i++) {
      if (in[i].size() != c) {
        throw new OpException(OP_TYPE + ": input has " + c + " channels, parameter " + i + " has " + in[i].size() + " values");
      }
    }
    float[] divisor = in.length > 5 && in[5] != null ? in[5].data() : null;
    int inner = z.size() / Math.max(1, n * c);
    float[] zd = z.data(), s = in[1].data(), b = in[2].data();
    float[] y = new float[zd.length];
    float[] mean = new float[c], var = new float[c], mul = new float[c], off = new float[c];
    double[] m = new double[c], v = new double[c];
    for (int c0 = 0, c1; c0 < c; c0 = c1) {
      c1 = BatchNormLoops.block(c0, c, inner);
      BatchNormLoops.Planes planes = new BatchNormLoops.Planes(n, c, inner, c0, c1);
      BatchNormLoops.divide(zd, divisor, y, planes);
      BatchNormalization.channelStatistics(y, planes, m, v);
      for (int ci = c0; ci < c1; ci++) {
        mean[ci] = (float) m[ci];
        var[ci] = (float) v[ci];
        mul[ci] = mul(s[ci], v[ci], epsilon);
        off[ci] = off(s[ci], b[ci], m[ci], v[ci], epsilon);
      }
      BatchNormLoops.affine(y, mul, off, activation, planes);
    }
    return new Tensor[] {Tensor.of(y, z.shape()), Tensor.of(mean, c), Tensor.of(var, c)};
  }
}

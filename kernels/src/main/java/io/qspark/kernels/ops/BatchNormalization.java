package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * BatchNormalization over axis 1: y = (x - mean) / sqrt(var + eps) * scale + B, with the running
 * statistics (inference), or, with qspark's own attribute {@value #BATCH_STATISTICS} = 1, the
 * batch's own mean and population variance per channel (QAT's training graph; only Y is produced,
 * the trainer updates the running statistics). ONNX's training_mode=1, whose extra outputs
 * a model would expect, stays refused: such a model was exported for training, not inference.
 */
public final class BatchNormalization implements Op {
  private final float epsilon;
  private final boolean training;
  public static final String BATCH_STATISTICS = "qspark_batch_statistics";

  public BatchNormalization(Attributes a) {
    this.epsilon = a.getFloat("epsilon", 1e-5f);
    if (a.getInt("training_mode", 0) != 0) {
      throw new OpException("BatchNormalization: training_mode=1 is not an inference graph");
    }
    this.training = a.getInt(BATCH_STATISTICS, 0) != 0;
  }

  /** Per-channel {mean, population variance} of x over every axis but 1, by {@link #channelStatistics}. */
  public static double[][] batchStatistics(Tensor x) {
    int n = x.dim(0), c = x.dim(1);
    double[] mean = new double[c], var = new double[c];
    channelStatistics(x.data(), new BatchNormLoops.Planes(n, c, x.size() / Math.max(1, n * c), 0, c), mean, var);
    return new double[][] {mean, var};
  }

  /**
   * Means and biased variances of the planes' channels of an NCHW array into mean and var: two passes of {@link BatchNormLoops}'
   * fixed-order sums (float lanes, double totals), so the same for any thread or partition. Both
   * are rounded to float: QAT's op outputs them as floats and its backward rebuilds the forward's
   * multiplier and offset from those outputs bit for bit; the variance is centred on that float mean.
   */
  public static void channelStatistics(float[] x, BatchNormLoops.Planes planes, double[] mean, double[] var) {
    final int c = planes.channels(), c0 = planes.from(), c1 = planes.to();
    double count = (double) planes.images() * planes.inner();
    double[] s = BatchNormLoops.sums(x, null, planes);
    float[] m = new float[c];
    for (int ci = c0; ci < c1; ci++) m[ci] = (float) (s[ci] / count);
    double[] s2 = BatchNormLoops.sums(x, m, planes);
    for (int ci = c0; ci < c1; ci++) {
      mean[ci] = m[ci];
      var[ci] = (float) (s2[ci] / count);
    }
  }

  public boolean training() {
    return training;
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

  private float[][] batchAffine(Tensor x, Tensor scale, Tensor bias) {
    double[][] st = batchStatistics(x);
    int c = scale.size();
    float[] mul = new float[c], off = new float[c];
    for (int i = 0; i < c; i++) {
      double inv = 1.0 / Math.sqrt(st[1][i] + epsilon);
      mul[i] = (float) (scale.data()[i] * inv);
      off[i] = (float) (bias.data()[i] - st[0][i] * scale.data()[i] * inv);
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
    float[][] ab = training ? batchAffine(x, in[1], in[2]) : affine(in[1], in[2], in[3], in[4]);
    int n = x.dim(0);
    int inner = x.size() / Math.max(1, n * c);
    float[] xd = x.data();
    float[] y = Arena.floats(xd.length);
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

package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;

/**
 * Mean softmax cross-entropy of [N, C] logits against class labels, and its gradient
 * (softmax - one_hot) / N. Log-sum-exp in double with the row maximum subtracted.
 */
public final class SoftmaxCrossEntropy {
  private SoftmaxCrossEntropy() {}

  public record Result(double loss, Tensor gradient) {}

  public static Result of(Tensor logits, int[] labels) {
    int n = logits.dim(0), c = logits.dim(1);
    float[] z = logits.data();
    float[] g = new float[z.length];
    double loss = 0;
    for (int i = 0; i < n; i++) {
      double mx = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < c; j++) mx = Math.max(mx, z[i * c + j]);
      double sum = 0;
      for (int j = 0; j < c; j++) sum += Math.exp(z[i * c + j] - mx);
      double lse = mx + Math.log(sum);
      loss += lse - z[i * c + labels[i]];
      for (int j = 0; j < c; j++) {
        double p = Math.exp(z[i * c + j] - lse);
        g[i * c + j] = (float) ((p - (j == labels[i] ? 1 : 0)) / n);
      }
    }
    return new Result(loss / n, Tensor.of(g, n, c));
  }
}

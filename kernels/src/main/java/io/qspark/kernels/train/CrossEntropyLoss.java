package io.qspark.kernels.train;

import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.tensor.Tensor;
import java.util.Map;

/**
 * Softmax cross-entropy of one [N, classes] output against the batch's labels
 * ({@link SoftmaxCrossEntropy}), summed over the images, and top-1 hits. The loss a classifier
 * with labels trains with.
 */
public final class CrossEntropyLoss implements QatLoss {
  private final String output;

  /** @param output the graph output holding the logits */
  public CrossEntropyLoss(String output) {
    this.output = output;
  }

  public String output() {
    return output;
  }

  @Override
  public Value evaluate(Batch batch, Map<String, Tensor> outputs) {
    int[] labels = batch.labels();
    if (labels == null) throw new IllegalArgumentException("cross-entropy needs labels; the data has none");
    Tensor logits = outputs.get(output);
    if (logits == null) throw new IllegalArgumentException("cross-entropy: the model has no output '" + output + "'");
    if (logits.rank() != 2) {
      throw new IllegalArgumentException("cross-entropy needs [N, classes] logits; output '" + output + "' is "
          + Tensor.shapeString(logits.shape()));
    }
    int n = logits.dim(0), c = logits.dim(1);
    if (labels.length != n) throw new IllegalArgumentException(labels.length + " labels for " + n + " images");
    for (int l : labels) {
      if (l < 0 || l >= c) throw new IllegalArgumentException("label " + l + " outside the " + c + " classes of '" + output + "'");
    }
    SoftmaxCrossEntropy.Result r = SoftmaxCrossEntropy.of(logits, labels);
    float[] seed = r.gradient().data();
    for (int i = 0; i < seed.length; i++) seed[i] *= n; // the gradient of the sum, not of the mean
    long correct = 0;
    float[] z = logits.data();
    for (int i = 0; i < n; i++) {
      if (ArgMax.of(z, i * c, c) == labels[i]) correct++;
    }
    return new Value(r.loss() * n, Map.of(output, Tensor.of(seed, n, c)), correct);
  }
}

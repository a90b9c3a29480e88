package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The loss QAT minimizes, one micro-batch at a time: given the micro-batch (its inputs, and its
 * labels when it has some) and the fake-quant model's outputs on it, the loss summed over the
 * micro-batch's images and its gradient at each output it reads. Summed, not averaged: the
 * trainer adds the parts of a step in micro-batch order and divides by the step's image count
 * ({@link QatGradient}), so the loss of an image must not depend on the other images of its
 * micro-batch. Built in: {@link CrossEntropyLoss} (classifiers with labels) and
 * {@link DistillationLoss} (any model, no labels: the float model's outputs are the targets);
 * {@link #plus} adds two. Implementations are called from several threads at once and must sum
 * in a fixed order, so that a step's result does not depend on the thread count.
 */
public interface QatLoss {
  /**
   * One micro-batch.
   *
   * @param inputs a tensor per graph input, images along axis 0
   * @param labels a class per image, or null for unlabelled data
   */
  record Batch(Map<String, Tensor> inputs, int[] labels) {
    /** The number of images. */
    public int size() {
      return inputs.values().iterator().next().dim(0);
    }
  }

  /**
   * The loss of a micro-batch.
   *
   * @param sum the loss summed over the images
   * @param gradients the gradient of {@code sum} at each model output it depends on (by graph
   *     output name, shaped as the output); outputs it does not read are absent
   * @param correct images whose top class is their label (0 where the loss has no classes)
   */
  record Value(double sum, Map<String, Tensor> gradients, long correct) {}

  /**
   * @param outputs the fake-quant model's outputs on the batch, by graph output name
   */
  Value evaluate(Batch batch, Map<String, Tensor> outputs);

  /**
   * This loss plus {@code weight} times another (cross-entropy plus distillation): sums and
   * gradients add in that order, the correct count is this loss's.
   */
  default QatLoss plus(QatLoss other, double weight) {
    QatLoss self = this;
    return (batch, outputs) -> {
      Value a = self.evaluate(batch, outputs), b = other.evaluate(batch, outputs);
      Map<String, Tensor> g = new LinkedHashMap<>(a.gradients());
      b.gradients().forEach((name, gb) -> {
        float[] d = gb.data();
        Tensor ga = g.get(name);
        float[] s = new float[d.length];
        for (int i = 0; i < s.length; i++) s[i] = (float) ((ga == null ? 0 : ga.data()[i]) + weight * d[i]);
        g.put(name, Tensor.of(s, gb.shape()));
      });
      return new Value(a.sum() + weight * b.sum(), g, a.correct());
    };
  }

  /**
   * This loss times {@code factor} (the label loss's share when mixed with distillation): the
   * sum and every gradient scaled, the correct count kept.
   */
  default QatLoss times(double factor) {
    QatLoss self = this;
    return (batch, outputs) -> {
      Value a = self.evaluate(batch, outputs);
      Map<String, Tensor> g = new LinkedHashMap<>();
      a.gradients().forEach((name, ga) -> {
        float[] d = ga.data(), s = new float[d.length];
        for (int i = 0; i < s.length; i++) s[i] = (float) (factor * d[i]);
        g.put(name, Tensor.of(s, ga.shape()));
      });
      return new Value(factor * a.sum(), g, a.correct());
    };
  }

  /**
   * A classifier's label loss mixed with distillation: (1 − w) · labels + w · distillation, w in
   * [0, 1]; at 0 the label loss itself and at 1 distillation itself, unchanged.
   */
  static QatLoss mixed(QatLoss labels, QatLoss distillation, double w) {
    if (!(w >= 0 && w <= 1)) throw new IllegalArgumentException("the distillation weight must be in [0, 1], got " + w);
    if (w == 0) return labels;
    if (w == 1) return distillation;
    return labels.times(1 - w).plus(distillation, w);
  }
}

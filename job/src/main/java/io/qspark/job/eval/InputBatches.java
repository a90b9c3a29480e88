package io.qspark.job.eval;

import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.tensor.Tensor;
import java.util.Iterator;
import java.util.NoSuchElementException;

/** Stored images to model inputs, a mini-batch at a time: preprocessed and stacked [n, ...]. */
public final class InputBatches implements Iterator<InputBatches.Batch> {
  /** One mini-batch: the input tensor and, per image, its label and name for messages. */
  public record Batch(Tensor input, int[] labels, String[] names) {
    public int size() {
      return labels.length;
    }
  }

  private final Iterator<LabeledImage> images;
  private final ScoringPlan plan;

  public InputBatches(Iterator<LabeledImage> images, ScoringPlan plan) {
    this.images = images;
    this.plan = plan;
  }

  @Override
  public boolean hasNext() {
    return images.hasNext();
  }

  @Override
  public Batch next() {
    if (!images.hasNext()) throw new NoSuchElementException();
    int per = plan.classifier().imageSize();
    LabeledImage[] batch = new LabeledImage[plan.batch()];
    int n = 0;
    while (n < batch.length && images.hasNext()) batch[n++] = images.next();
    float[] x = new float[n * per];
    int[] labels = new int[n];
    String[] names = new String[n];
    for (int i = 0; i < n; i++) {
      float[] values = batch[i].values();
      if (values != null) System.arraycopy(values, 0, x, i * per, per); // preprocessed at the source
      else plan.preprocessing().apply(batch[i].pixels(), plan.layout(), x, i * per);
      labels[i] = batch[i].label();
      names[i] = batch[i].name();
    }
    return new Batch(Tensor.of(x, plan.classifier().batchShape(n)), labels, names);
  }
}

package io.qspark.job.eval;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.tensor.Tensor;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;

/** Stored images to model inputs, a mini-batch at a time: preprocessed and stacked [n, ...] for every input. */
public final class InputBatches implements Iterator<InputBatches.Batch> {
  /** One mini-batch: every input's tensor by name (model order) and, per image, its label and name for messages. */
  public record Batch(Map<String, Tensor> feeds, int[] labels, String[] names) {
    public int size() {
      return labels.length;
    }

    /** Images [from, to) of this batch. */
    public Batch slice(int from, int to) {
      if (from == 0 && to == size()) return this;
      Map<String, Tensor> f = new java.util.LinkedHashMap<>();
      feeds.forEach((k, t) -> f.put(k, t.slice0(from, to)));
      return new Batch(f, Arrays.copyOfRange(labels, from, to), Arrays.copyOfRange(names, from, to));
    }

    /** The input of a single-input model. */
    public Tensor input() {
      if (feeds.size() != 1) throw new IllegalStateException("the model has " + feeds.size() + " inputs: " + feeds.keySet());
      return feeds.values().iterator().next();
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
    ModelIo model = plan.model();
    int per = model.imageSize();
    LabeledImage[] batch = new LabeledImage[plan.batch()];
    int n = 0;
    while (n < batch.length && images.hasNext()) batch[n++] = images.next();
    if (model.chunk() > 0 && n % model.chunk() != 0) {
      throw new UserError("the model runs in chunks of " + model.chunk() + " images (exported with a fixed batch its graph"
          + " mixes), but a partition's last batch holds " + n + " images ending with " + batch[n - 1].name()
          + ": give --partitions and an image count so that every partition holds a multiple of " + model.chunk());
    }
    float[] x = new float[n * per];
    int[] labels = new int[n];
    String[] names = new String[n];
    for (int i = 0; i < n; i++) {
      float[] values = batch[i].values();
      if (values != null) System.arraycopy(values, 0, x, i * per, per); // preprocessed at the source
      else if (model.inputs().size() == 1) plan.preprocessing().apply(batch[i].pixels(), plan.layout(), x, i * per);
      else perInput(batch[i].pixels(), x, i * per);
      labels[i] = batch[i].label();
      names[i] = batch[i].name();
    }
    return new Batch(model.feeds(x, n), labels, names);
  }

  /** Pixels made for each input in its own shape, one input after another. */
  private void perInput(byte[] pixels, float[] x, int offset) {
    int from = 0;
    for (ModelIo.Input in : plan.model().inputs()) {
      ImageLayout l = ScoringPlan.layoutOf(in);
      plan.preprocessing().apply(Arrays.copyOfRange(pixels, from, from + l.size()), l, x, offset);
      from += l.size();
      offset += in.size();
    }
  }
}

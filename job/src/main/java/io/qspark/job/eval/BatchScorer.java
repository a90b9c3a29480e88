package io.qspark.job.eval;

import io.qspark.job.UserError;
import io.qspark.job.data.LabeledImage;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.tensor.Tensor;
import java.util.Iterator;

/** Scores a stream of labelled images in mini-batches: preprocess, run the model, compare the best classes to the label. */
public final class BatchScorer {
  private final Executor executor;
  private final ScoringPlan plan;

  public BatchScorer(Executor executor, ScoringPlan plan) {
    this.executor = executor;
    this.plan = plan;
  }

  public EvalCounts score(Iterator<LabeledImage> images) {
    int classes = plan.classifier().classes();
    int per = plan.classifier().imageSize();
    long[] seen = new long[classes];
    long[] top1 = new long[classes];
    long top5 = 0;
    LabeledImage[] batch = new LabeledImage[plan.batch()];
    while (images.hasNext()) {
      int n = 0;
      while (n < batch.length && images.hasNext()) batch[n++] = images.next();
      float[] x = new float[n * per];
      for (int i = 0; i < n; i++) {
        float[] values = batch[i].values();
        if (values != null) System.arraycopy(values, 0, x, i * per, per); // preprocessed at the source
        else plan.preprocessing().apply(batch[i].pixels(), plan.layout(), x, i * per);
      }
      float[] y = executor.run(Tensor.of(x, plan.classifier().batchShape(n))).data();
      for (int i = 0; i < n; i++) {
        int label = batch[i].label();
        if (label < 0 || label >= classes) {
          throw new UserError(batch[i].name() + " has label " + label + " but the model has "
              + classes + " classes");
        }
        int rank = rankOfLabel(y, i * classes, classes, label);
        seen[label]++;
        if (rank == 0) top1[label]++;
        if (rank < 5) top5++;
      }
    }
    return new EvalCounts(seen, top1, top5);
  }

  /**
   * How many classes beat the label's score; ties go to the lower class index, as argmax does,
   * so rank 0 is exactly "argmax == label".
   */
  static int rankOfLabel(float[] y, int off, int classes, int label) {
    float s = y[off + label];
    int rank = 0;
    for (int c = 0; c < classes; c++) {
      float v = y[off + c];
      if (v > s || (v == s && c < label)) rank++;
    }
    return rank;
  }
}

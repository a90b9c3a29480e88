package io.qspark.job.eval;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.LabeledImage;
import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.tensor.Tensor;
import java.util.Iterator;

/** Scores a stream of labelled images in mini-batches: preprocess, run the model, compare the best classes to the label. */
public final class BatchScorer {
  private final java.util.function.UnaryOperator<Tensor> forward;
  private final java.util.function.UnaryOperator<Tensor> reference;
  private final ScoringPlan plan;

  /** @param forward the model on one input batch: float, or fake-quantized */
  public BatchScorer(java.util.function.UnaryOperator<Tensor> forward, ScoringPlan plan) {
    this(forward, null, plan);
  }

  /** @param reference the float model, to count agreement with a quantized {@code forward}; or null */
  public BatchScorer(java.util.function.UnaryOperator<Tensor> forward, java.util.function.UnaryOperator<Tensor> reference,
      ScoringPlan plan) {
    this.forward = forward;
    this.reference = reference;
    this.plan = plan;
  }

  public EvalCounts score(Iterator<LabeledImage> images) {
    int classes = plan.classifier().classes();
    long[] seen = new long[classes];
    long[] top1 = new long[classes];
    long top5 = 0;
    long agree = reference == null ? -1 : 0;
    InputBatches batches = new InputBatches(images, plan);
    while (batches.hasNext()) {
      InputBatches.Batch batch = batches.next();
      float[] y = forward.apply(batch.input()).data();
      float[] r = reference == null ? null : reference.apply(batch.input()).data();
      for (int i = 0; i < batch.size(); i++) {
        int label = batch.labels()[i];
        if (label < 0 || label >= classes) {
          throw new UserError(batch.names()[i] + " has label " + label + " but the model has "
              + classes + " classes");
        }
        int rank = rankOfLabel(y, i * classes, classes, label);
        seen[label]++;
        if (rank == 0) top1[label]++;
        if (rank < 5) top5++;
        if (r != null && ArgMax.of(y, i * classes, classes) == ArgMax.of(r, i * classes, classes)) agree++;
      }
    }
    return new EvalCounts(seen, top1, top5, agree);
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

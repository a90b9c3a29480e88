package io.qspark.job.eval;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;

/**
 * Everything a task needs to score images besides the model itself: how to turn stored images
 * into inputs, the model's input and output, and the mini-batch size (--batch, or fewer images
 * when that many would exceed {@link Classifier#BATCH_BYTES}). Built (and so checked) on the driver.
 */
public record ScoringPlan(Preprocessing preprocessing, ImageLayout layout, Classifier classifier, int batch)
    implements Serializable {

  public static ScoringPlan of(Preprocessing pre, ImageLayout layout, Classifier classifier, int batch) {
    try {
      pre.check(layout);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    int channels = pre.outputChannels(layout.channels());
    String images = channels + "x" + layout.height() + "x" + layout.width();
    int[] want = classifier.imageShape();
    boolean same = want.length == 3 ? want[0] == channels && want[1] == layout.height() && want[2] == layout.width()
        : classifier.imageSize() == channels * layout.height() * layout.width();
    if (!same) {
      throw new GraphException("inconsistent shapes: the images are " + images
          + " after preprocessing but the model's input '" + classifier.input() + "' is "
          + Tensor.shapeString(classifier.batchShape(-1)));
    }
    return new ScoringPlan(pre, layout, classifier, classifier.batchFor(batch));
  }

  /**
   * The plan for images that are model inputs already ({@code layout} is their shape, or
   * 1 x 1 x n when the data does not say): no preprocessing, and only as many values per image
   * as the model's input takes.
   */
  public static ScoringPlan ofInputs(ImageLayout layout, Classifier classifier, int batch) {
    if (layout.size() != classifier.imageSize()) {
      String given = layout.channels() == 1 && layout.height() == 1 ? layout.width() + " values" : layout.describe();
      throw new GraphException("inconsistent shapes: the images are " + given + " of model input but the model's input '"
          + classifier.input() + "' is " + Tensor.shapeString(classifier.batchShape(-1)) + " (" + classifier.imageSize()
          + " values)");
    }
    return new ScoringPlan(Preprocessing.none(), layout, classifier, classifier.batchFor(batch));
  }
}

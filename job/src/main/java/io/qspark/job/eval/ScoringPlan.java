package io.qspark.job.eval;

import io.qspark.job.base.UserError;
import io.qspark.job.preprocess.ImageLayout;
import io.qspark.job.preprocess.Preprocessing;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;

/**
 * Everything a task needs to feed stored data to a model besides the model itself: how to turn
 * stored images into inputs, the model's inputs and outputs, and the mini-batch size (--batch,
 * or fewer images when that many would exceed {@link ModelIo#BATCH_BYTES}). Data for a model of
 * several inputs holds each item's inputs one after another (pixels made for each input in its
 * own shape, as synthetic data is, or values read from one column per input). Built (and so
 * checked) on the driver.
 */
public record ScoringPlan(Preprocessing preprocessing, ImageLayout layout, ModelIo model, int batch)
    implements Serializable {

  public static ScoringPlan of(Preprocessing pre, ImageLayout layout, ModelIo model, int batch) {
    model.checkBatch(batch, "the model");
    if (model.inputs().size() > 1) return ofSeveral(pre, layout, model, batch);
    try {
      pre.check(layout);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    int channels = pre.outputChannels(layout.channels());
    String images = channels + "x" + layout.height() + "x" + layout.width();
    int[] want = model.imageShape();
    boolean same = want.length == 3 ? want[0] == channels && want[1] == layout.height() && want[2] == layout.width()
        : model.imageSize() == channels * layout.height() * layout.width();
    if (!same) {
      String hint = want.length == 3 && want[0] == 3 && channels == 1 ? " (--gray-to-rgb repeats a gray image over 3 channels)"
          : want.length == 3 && want[0] == channels ? " (--resize " + want[1] + "," + want[2] + " makes them the model's size)" : "";
      throw new GraphException("inconsistent shapes: the images are " + images
          + " after preprocessing but the model's input '" + model.input() + "' is "
          + Tensor.shapeString(model.batchShape(-1)) + hint);
    }
    return new ScoringPlan(pre, layout, model, model.batchFor(batch));
  }

  /** Pixels made for every input of the model in its own shape, one input after another (synthetic data). */
  private static ScoringPlan ofSeveral(Preprocessing pre, ImageLayout layout, ModelIo model, int batch) {
    if (layout.size() != model.imageSize()) {
      throw new UserError("image data feeds a model with one input; this one has " + model.inputs().size() + " ("
          + String.join(", ", model.inputs().stream().map(ModelIo.Input::name).toList())
          + "): read one column per input from Parquet or a table (--input-columns NAME=COLUMN,...), or use synthetic:N");
    }
    for (ModelIo.Input in : model.inputs()) {
      try {
        pre.check(layoutOf(in));
      } catch (IllegalArgumentException e) {
        throw new UserError("input '" + in.name() + "': " + e.getMessage());
      }
      if (pre.outputChannels(layoutOf(in).channels()) != layoutOf(in).channels()) {
        throw new UserError("--channel-swap changes the channels of input '" + in.name() + "', which synthetic data makes in its own shape");
      }
    }
    return new ScoringPlan(pre, layout, model, model.batchFor(batch));
  }

  /** The stored layout of one input's pixels in data made for each input: its own shape, planar. */
  static ImageLayout layoutOf(ModelIo.Input in) {
    int[] s = in.itemShape();
    return s.length == 3 ? new ImageLayout(s[0], s[1], s[2], false) : new ImageLayout(1, 1, in.size(), false);
  }

  /**
   * The plan for images that are model inputs already ({@code layout} is their shape, or
   * 1 x 1 x n when the data does not say): no preprocessing, and only as many values per image
   * as the model's inputs take.
   */
  public static ScoringPlan ofInputs(ImageLayout layout, ModelIo model, int batch) {
    model.checkBatch(batch, "the model");
    if (layout.size() != model.imageSize()) {
      String given = layout.channels() == 1 && layout.height() == 1 ? layout.width() + " values" : layout.describe();
      throw new GraphException("inconsistent shapes: the images are " + given + " of model input but the model's input '"
          + model.input() + "' is " + Tensor.shapeString(model.batchShape(-1)) + " (" + model.imageSize()
          + " values)");
    }
    return new ScoringPlan(Preprocessing.none(), layout, model, model.batchFor(batch));
  }

  /** The same plan with mini-batches of {@code n}. */
  public ScoringPlan withBatch(int n) {
    return new ScoringPlan(preprocessing, layout, model, n);
  }
}

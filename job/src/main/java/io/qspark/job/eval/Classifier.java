package io.qspark.job.eval;

import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;

/**
 * What evaluation needs to know about a model: one image input [N, ...] and one logits output
 * [N, classes]. Checked on the driver so a wrong model fails before a job starts.
 */
public record Classifier(String input, int[] imageShape, String output, int classes) implements Serializable {

  public static Classifier of(Model model) {
    var g = model.graph();
    if (g.inputs().size() != 1 || g.outputs().size() != 1) {
      throw new GraphException("evaluate needs a model with one input and one output; "
          + model.source() + " has inputs " + g.inputs() + " and outputs " + g.outputs());
    }
    ValueInfo in = g.inputs().get(0);
    int[] s = model.shape(in.name());
    if (s.length < 2 || s[0] != -1) {
      throw new GraphException("input '" + in.name() + "' has shape " + Tensor.shapeString(s)
          + "; evaluate needs a batch dimension first, [N, ...]");
    }
    String out = g.outputs().get(0);
    int[] o = model.shape(out);
    if (o.length != 2 || o[0] != -1) {
      throw new GraphException("output '" + out + "' has shape " + Tensor.shapeString(o)
          + "; evaluate needs class scores [N, classes]");
    }
    return new Classifier(in.name(), java.util.Arrays.copyOfRange(s, 1, s.length), out, o[1]);
  }

  public int imageSize() {
    int n = 1;
    for (int d : imageShape) n *= d;
    return n;
  }

  /** The input shape for a batch of {@code n} images. */
  public int[] batchShape(int n) {
    int[] s = new int[imageShape.length + 1];
    s[0] = n;
    System.arraycopy(imageShape, 0, s, 1, imageShape.length);
    return s;
  }
}

package io.qspark.job.eval;

import io.qspark.job.model.ModelSignature;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;

/**
 * What evaluation needs to know about a model: one image input [N, ...] and one logits output
 * [N, classes], and the activation memory one image takes in the executor. Checked on the
 * driver so a wrong model fails before a job starts.
 */
public record Classifier(String input, int[] imageShape, String output, int classes, long bytesPerImage)
    implements Serializable {
  /**
   * Activation memory a task's mini-batch may take: a fixed image count would be 2 MB on a
   * 28x28 model and 250 MB on resnet18 at 224x224 (where the error pass holds a float and a
   * quantized forward at once, and every core runs a task). 64 MiB keeps 16 images of resnet18
   * (4.0 MB each, at its stem) per batch, which costs no throughput (convs run image by image),
   * and leaves the small models at --batch.
   */
  public static final long BATCH_BYTES = 64L << 20;

  public static Classifier of(Model model) {
    return of(ModelSignature.of(model), model.source());
  }

  /** @param source the model's name, for messages */
  public static Classifier of(ModelSignature sig, String source) {
    if (sig.inputs().size() != 1 || sig.outputs().size() != 1) {
      throw new GraphException("evaluate needs a model with one input and one output; "
          + source + " has inputs " + sig.inputs() + " and outputs "
          + sig.outputs().stream().map(ModelSignature.Port::name).toList());
    }
    Classifier in = ofInput(sig, source);
    ModelSignature.Port out = sig.outputs().get(0);
    int[] o = out.shape();
    if (sig.classScores().isEmpty()) {
      throw new GraphException("output '" + out.name() + "' has shape " + Tensor.shapeString(o)
          + "; evaluate needs class scores [N, classes]");
    }
    return new Classifier(in.input, in.imageShape, out.name(), o[1], in.bytesPerImage);
  }

  /**
   * A model fed through its one image input whose outputs are not read as class scores (a
   * statistics pass, any number and kind of outputs): {@code output} null, {@code classes} 0.
   */
  public static Classifier ofInput(ModelSignature sig, String source) {
    if (sig.inputs().size() != 1) {
      throw new GraphException("images feed a model with one input; " + source + " has inputs " + sig.inputs());
    }
    ModelSignature.Port in = sig.inputs().get(0);
    int[] s = in.shape();
    if (s.length < 2 || s[0] != -1) {
      throw new GraphException("input '" + in.name() + "' has shape " + Tensor.shapeString(s)
          + "; evaluate needs a batch dimension first, [N, ...]");
    }
    return new Classifier(in.name(), in.itemShape(), null, 0, sig.bytesPerItem());
  }

  /** Images per mini-batch: at most {@code requested}, and no more than {@link #BATCH_BYTES} of activations. */
  public int batchFor(int requested) {
    long fit = Math.max(1, BATCH_BYTES / Math.max(1, bytesPerImage));
    return (int) Math.min(requested, fit);
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

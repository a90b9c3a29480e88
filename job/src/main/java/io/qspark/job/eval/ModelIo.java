package io.qspark.job.eval;

import io.qspark.job.base.UserError;
import io.qspark.job.model.ModelSignature;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a stage that feeds a model needs to know about it: its inputs (any number, each batch
 * first, [N, ...]) with the shape of one item, its outputs, its classes when its one output is
 * class scores [N, classes] (0 for detectors, segmenters, several outputs: no class facts), the
 * activation memory one item takes in an executor, and the chunk a fixed-batch export whose
 * batch could not be freed runs in (0: any batch). An item of data holds the values of every
 * input, concatenated in the model's input order. Checked on the driver so a wrong model fails
 * before a job starts.
 */
public record ModelIo(List<Input> inputs, List<String> outputs, int classes, long bytesPerImage, int chunk)
    implements Serializable {
  /**
   * Activation memory a task's mini-batch may take: a fixed image count would be 2 MB on a
   * 28x28 model and 250 MB on resnet18 at 224x224 (where the error pass holds a float and a
   * quantized forward at once, and every core runs a task). 64 MiB keeps 16 images of resnet18
   * (4.0 MB each, at its stem) per batch, which costs no throughput (convs run image by image),
   * and leaves the small models at --batch.
   */
  public static final long BATCH_BYTES = 64L << 20;

  /** One input: its name and the shape of one item (the batch dimension removed). */
  public record Input(String name, int[] itemShape) implements Serializable {
    public Input {
      itemShape = itemShape.clone();
    }

    @Override
    public int[] itemShape() {
      return itemShape.clone();
    }

    /** Values in one item. */
    public int size() {
      int n = 1;
      for (int d : itemShape) n *= d;
      return n;
    }

    /** The input's shape for a batch of {@code n}. */
    public int[] batchShape(int n) {
      int[] s = new int[itemShape.length + 1];
      s[0] = n;
      System.arraycopy(itemShape, 0, s, 1, itemShape.length);
      return s;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Input i && i.name.equals(name) && Arrays.equals(i.itemShape, itemShape);
    }

    @Override
    public int hashCode() {
      return name.hashCode() * 31 + Arrays.hashCode(itemShape);
    }
  }

  public ModelIo {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  public static ModelIo of(Model model) {
    return of(ModelSignature.of(model), model.graph().batchChunk(), model.source());
  }

  /**
   * @param chunk the model's batch chunk ({@link io.qspark.kernels.graph.Graph#batchChunk()}), 0 for any batch
   * @param source the model's name, for messages
   */
  public static ModelIo of(ModelSignature sig, int chunk, String source) {
    if (sig.inputs().isEmpty()) throw new GraphException(source + " has no inputs");
    List<Input> in = new ArrayList<>();
    for (ModelSignature.Port p : sig.inputs()) {
      int[] s = p.shape();
      if (s.length < 1 || s[0] != -1 && !(chunk > 0 && s[0] == chunk)) {
        throw new GraphException("input '" + p.name() + "' of " + source + " has shape " + Tensor.shapeString(s)
            + "; its first dimension must be the batch, [N, ...]");
      }
      for (int i = 1; i < s.length; i++) {
        if (s[i] < 1) {
          throw new GraphException("input '" + p.name() + "' of " + source + " has shape " + Tensor.shapeString(s)
              + " with dynamic dimensions besides the batch; give them with --input-shape " + p.name() + "=C,H,W");
        }
      }
      in.add(new Input(p.name(), Arrays.copyOfRange(s, 1, s.length)));
    }
    int classes = in.size() == 1 ? sig.classes() : 0;
    return new ModelIo(in, sig.outputs().stream().map(ModelSignature.Port::name).toList(), classes, sig.bytesPerItem(), chunk);
  }

  /** Whether the model's one output is class scores, so top-1 and agreement mean something. */
  public boolean classifier() {
    return classes > 0;
  }

  /** The model's only input; a model of several inputs is refused, naming {@code what} needs one. */
  public Input only(String what) {
    if (inputs.size() != 1) {
      throw new UserError(what + " needs a model with one input; this one has " + inputs.size() + " ("
          + String.join(", ", inputs.stream().map(Input::name).toList()) + ")");
    }
    return inputs.get(0);
  }

  /** The name of the first input (the one image data feeds). */
  public String input() {
    return inputs.get(0).name();
  }

  /** The shape of one item of the first input. */
  public int[] imageShape() {
    return inputs.get(0).itemShape();
  }

  /** The input shape of the first input for a batch of {@code n}. */
  public int[] batchShape(int n) {
    return inputs.get(0).batchShape(n);
  }

  /** Values in one item of data: every input's, concatenated. */
  public int imageSize() {
    int n = 0;
    for (Input i : inputs) n += i.size();
    return n;
  }

  /**
   * Items per mini-batch: at most {@code requested}, and no more than {@link #BATCH_BYTES} of
   * activations; for a model that runs in chunks, one chunk (the passes that keep every value of
   * a run, the error pass and bias correction, run a batch-chunked graph one chunk at a time).
   */
  public int batchFor(int requested) {
    if (chunk > 0) return chunk;
    long fit = Math.max(1, BATCH_BYTES / Math.max(1, bytesPerImage));
    return (int) Math.min(requested, fit);
  }

  /** Refuses a --batch that is not a whole number of the chunks the model runs in. */
  public void checkBatch(int requested, String source) {
    if (chunk > 0 && requested % chunk != 0) {
      throw new UserError(source + " was exported with a fixed batch of " + chunk + " that its graph does not let be freed"
          + " (it mixes the images), so it runs in chunks of " + chunk + "; --batch " + requested + " is not a multiple of "
          + chunk);
    }
  }

  /**
   * The feeds of a batch of {@code n} items whose values lie item after item in {@code x} (each
   * item every input's values in order), by input name in the model's order.
   */
  public Map<String, Tensor> feeds(float[] x, int n) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    if (inputs.size() == 1) {
      Input i = inputs.get(0);
      m.put(i.name(), Tensor.of(x.length == n * i.size() ? x : Arrays.copyOf(x, n * i.size()), i.batchShape(n)));
      return m;
    }
    int per = imageSize();
    int off = 0;
    for (Input i : inputs) {
      int size = i.size();
      float[] v = new float[n * size];
      for (int k = 0; k < n; k++) System.arraycopy(x, k * per + off, v, k * size, size);
      m.put(i.name(), Tensor.of(v, i.batchShape(n)));
      off += size;
    }
    return m;
  }
}

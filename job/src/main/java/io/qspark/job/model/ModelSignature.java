package io.qspark.job.model;

import io.qspark.kernels.exec.PeakActivations;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model's interface as qspark's stages see it: its named inputs and outputs with their shapes
 * (-1: a dynamic dimension, the batch when it comes first), in the graph's order, and the
 * activation memory one item takes in an executor. Nothing here assumes a classifier: class
 * facts exist only where an output is class scores, {@code [N, classes]} ({@link #classScores}).
 * Computed on the driver from the model the executors run; immutable.
 */
public record ModelSignature(List<Port> inputs, List<Port> outputs, long bytesPerItem) implements Serializable {
  /** One named input or output; {@code shape} as the graph declares it, -1 for dynamic dimensions. */
  public record Port(String name, int[] shape) implements Serializable {
    public Port {
      shape = shape.clone();
    }

    @Override
    public int[] shape() {
      return shape.clone();
    }

    /** Whether the first dimension is the (dynamic) batch. */
    public boolean batched() {
      return shape.length >= 1 && shape[0] == -1;
    }

    /** The shape of one item: the shape without its batch dimension. */
    public int[] itemShape() {
      return batched() ? Arrays.copyOfRange(shape, 1, shape.length) : shape.clone();
    }

    /** Values in one item (dynamic dimensions other than the batch count as 1). */
    public long itemSize() {
      long n = 1;
      for (int d : itemShape()) n *= Math.max(1, d);
      return n;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Port p && p.name.equals(name) && Arrays.equals(p.shape, shape);
    }

    @Override
    public int hashCode() {
      return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
      return name + Tensor.shapeString(shape);
    }
  }

  public ModelSignature {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
  }

  /** The signature of a loaded model (the inference graph's, as executors run it). */
  public static ModelSignature of(Model m) {
    Map<String, int[]> shapes = m.shapes();
    List<Port> in = new ArrayList<>();
    for (ValueInfo v : m.graph().inputs()) in.add(new Port(v.name(), shapes.getOrDefault(v.name(), v.shape())));
    List<Port> out = new ArrayList<>();
    for (String o : m.graph().outputs()) {
      int[] s = shapes.get(o);
      out.add(new Port(o, s == null ? new int[0] : s));
    }
    return new ModelSignature(in, out, PeakActivations.bytesPerImage(m.graph(), shapes));
  }

  /** The input of this name. */
  public Optional<Port> input(String name) {
    return inputs.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /** The output of this name. */
  public Optional<Port> output(String name) {
    return outputs.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /**
   * The output that holds class scores, {@code [N, classes]} with a batch dimension, when the
   * model has exactly one output and it is of that form; empty for any other model (detectors,
   * segmenters, several outputs), which stages then treat without class facts.
   */
  public Optional<Port> classScores() {
    if (outputs.size() != 1) return Optional.empty();
    Port o = outputs.get(0);
    int[] s = o.shape();
    return s.length == 2 && s[0] == -1 && s[1] > 0 ? Optional.of(o) : Optional.empty();
  }

  /** Classes of the class-score output, or 0 when the model has none. */
  public int classes() {
    return classScores().map(p -> p.shape()[1]).orElse(0);
  }

  /** "input [N,1,28,28] -> output [N,10]", for messages. */
  public String describe() {
    return String.join(", ", inputs.stream().map(Port::toString).toList()) + " -> "
        + String.join(", ", outputs.stream().map(Port::toString).toList());
  }
}

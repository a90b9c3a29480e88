package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The most activation memory the {@link Executor} holds at once for one image: values are live
 * from the node that makes them to their last reader (the executor's release rule), and a node
 * holds its inputs and outputs together. Weights are excluded (shared by every batch), as are
 * an op's own scratch buffers (per image and reused: im2col, workspaces). Mini-batches are sized
 * by this figure so that a task's memory is bounded by bytes rather than an image count that
 * means 2 MB on a 28x28 model and 1 GB on a 224x224 one.
 */
public final class PeakActivations {
  private static final int FLOAT_BYTES = Float.BYTES;

  private PeakActivations() {}

  /** @param shapes every value's shape, the batch dimension as -1 (ShapeInference's) */
  public static long bytesPerImage(Graph graph, Map<String, int[]> shapes) {
    Map<String, Integer> last = new HashMap<>();
    for (int i = 0; i < graph.nodes().size(); i++) for (String in : graph.nodes().get(i).inputs()) last.put(in, i);
    Set<String> live = new HashSet<>();
    long bytes = 0;
    for (ValueInfo in : graph.inputs()) {
      if (live.add(in.name())) bytes += bytes(shapes.get(in.name()));
    }
    long peak = bytes;
    for (int i = 0; i < graph.nodes().size(); i++) {
      Node n = graph.nodes().get(i);
      for (String out : n.outputs()) {
        if (!out.isEmpty() && live.add(out)) bytes += bytes(shapes.get(out));
      }
      peak = Math.max(peak, bytes);
      for (String in : n.inputs()) {
        Integer l = last.get(in);
        if (l != null && l == i && !graph.outputs().contains(in) && live.remove(in)) bytes -= bytes(shapes.get(in));
      }
    }
    return peak;
  }

  /** A value's bytes per image: a leading -1 (the batch) counts as 1; unknown shapes count 0. */
  private static long bytes(int[] shape) {
    if (shape == null) return 0;
    long n = FLOAT_BYTES;
    for (int d : shape) n *= Math.max(d, 1);
    return n;
  }
}

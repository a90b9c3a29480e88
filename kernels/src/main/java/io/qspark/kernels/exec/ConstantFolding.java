package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replaces nodes whose inputs are all known at load time (Constant nodes, initializers, and
 * Shape of a value whose shape does not follow the batch) by initializers, computed with the
 * same ops that run them. What exporters emit around reshapes (Shape, Gather, Unsqueeze,
 * Concat) disappears, and later passes see plain weights.
 */
public final class ConstantFolding {
  private ConstantFolding() {}

  public static Graph apply(Graph graph, Map<String, int[]> shapes) {
    Map<String, Tensor> known = new LinkedHashMap<>(graph.initializers());
    List<Node> kept = new ArrayList<>();
    for (Node n : graph.nodes()) {
      if (foldable(n, known, shapes)) {
        Tensor[] args = new Tensor[n.inputs().size()];
        for (int i = 0; i < args.length; i++) args[i] = n.input(i).isEmpty() ? null : known.get(n.input(i));
        if (n.opType().equals("Shape")) args[0] = Tensor.zeros(shapes.get(n.input(0)));
        Tensor[] outs = OpRegistry.create(n).forward(args);
        for (int i = 0; i < n.outputs().size() && i < outs.length; i++) {
          if (!n.outputs().get(i).isEmpty()) known.put(n.outputs().get(i), outs[i]);
        }
      } else {
        kept.add(n);
      }
    }
    if (kept.size() == graph.nodes().size()) return graph;
    return graph.withNodes(kept, known).pruned();
  }

  private static boolean foldable(Node n, Map<String, Tensor> known, Map<String, int[]> shapes) {
    if (!OpRegistry.supports(n)) return false;
    if (n.opType().equals("Shape")) {
      int[] s = shapes.get(n.input(0));
      if (s == null) return false;
      for (int d : s) if (d < 0) return false;
      return true;
    }
    if (n.opType().equals("Dropout") || n.opType().startsWith("Random")) return false;
    for (String in : n.inputs()) if (!in.isEmpty() && !known.containsKey(in)) return false;
    return true;
  }
}

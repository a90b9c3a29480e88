package io.qspark.kernels.passes;

import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A fully connected layer as converters write it (tf2onnx, paddle2onnx): MatMul of a 2-D value
 * by a constant [K, M] weight, usually followed by an Add of a constant [M] bias, becomes one
 * Gemm (the Add's output, the MatMul's name), which BatchNorm folding, activation fusing,
 * quantization and deployment treat as PyTorch's Linear. MatMuls of 3-D values (attention,
 * token mixing) are left alone: the DPU's fully connected layer is 2-D.
 */
public final class MatMulToGemm {
  private MatMulToGemm() {}

  public static Graph apply(Graph g) {
    List<Node> candidates = new ArrayList<>();
    for (Node n : g.nodes()) {
      Tensor w = g.initializers().get(n.input(1));
      if (n.opType().equals("MatMul") && n.domain().isEmpty() && w != null && w.rank() == 2 && w.isFloat()) candidates.add(n);
    }
    if (candidates.isEmpty()) return g;
    Map<String, int[]> shapes = ShapeInference.infer(g);
    Map<Node, Node> replaced = new LinkedHashMap<>();
    Set<Node> removed = new HashSet<>();
    for (Node mm : candidates) {
      int[] x = shapes.get(mm.input(0));
      if (x == null || x.length != 2) continue;
      int m = g.initializers().get(mm.input(1)).dim(1);
      Attributes a = Attributes.empty();
      if (mm.attributes().has(Attributes.OPSET)) a = a.with(Attributes.OPSET, mm.attributes().opset());
      List<String> ins = new ArrayList<>(List.of(mm.input(0), mm.input(1)));
      String out = mm.outputs().get(0);
      Node add = biasAdd(g, mm, m);
      if (add != null) {
        ins.add(add.input(0).equals(out) ? add.input(1) : add.input(0));
        out = add.outputs().get(0);
        removed.add(add);
      }
      replaced.put(mm, new Node(mm.name(), "Gemm", "", ins, List.of(out), a));
    }
    if (replaced.isEmpty()) return g;
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) if (!removed.contains(n)) nodes.add(replaced.getOrDefault(n, n));
    return g.withNodes(nodes, g.initializers()).pruned();
  }

  /** The Add of a constant [M] (or [1, M]) vector that alone reads the MatMul's output, or null. */
  private static Node biasAdd(Graph g, Node mm, int m) {
    String out = mm.outputs().get(0);
    List<Node> readers = g.consumers(out);
    if (readers.size() != 1 || g.outputs().contains(out)) return null;
    Node add = readers.get(0);
    if (!add.opType().equals("Add") || !add.domain().isEmpty() || add.inputs().size() != 2) return null;
    Tensor b = g.initializers().get(add.input(0).equals(out) ? add.input(1) : add.input(0));
    if (b == null || !b.isFloat() || b.size() != m || b.rank() > 2 || b.rank() == 2 && b.dim(0) != 1) return null;
    return add;
  }
}

package io.qspark.kernels.passes;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges ReLU, ReLU6/Clip and LeakyReLU into the Conv or Gemm that feeds them, as the DPU
 * executes them: the pre-activation tensor then no longer exists, which is also where the
 * quantizer must not put a quantization point.
 */
public final class FuseActivation {
  private static final List<String> PRODUCERS = List.of("Conv", "Gemm");

  private FuseActivation() {}

  public static Graph apply(Graph g) {
    Map<Node, Node> replaced = new LinkedHashMap<>();
    List<Node> removed = new ArrayList<>();
    for (Node act : g.nodes()) {
      Activation a = activation(act, g.initializers());
      if (a == null) continue;
      Node p = Rewrites.soleProducer(g, act.input(0), PRODUCERS);
      if (p == null || replaced.containsKey(p) || p.attributes().has(Activation.FUSED)) continue;
      Attributes fused = a.fuseInto(p.attributes());
      replaced.put(p, new Node(p.name(), p.opType(), p.domain(), p.inputs(), List.of(act.outputs().get(0)), fused));
      removed.add(act);
    }
    if (replaced.isEmpty()) return g;
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) {
      if (!removed.contains(n)) nodes.add(replaced.getOrDefault(n, n));
    }
    return g.withNodes(nodes, g.initializers()).pruned();
  }

  /** The node as a fusible activation with constant parameters, or null (QAT's training graph fuses the same). */
  public static Activation activation(Node n, Map<String, Tensor> inits) {
    switch (n.opType()) {
      case "Relu":
      case "LeakyRelu":
        return Activation.of(n.opType(), n.attributes());
      case "Clip": {
        Activation attr = Activation.of("Clip", n.attributes());
        if (!n.hasInput(1) && !n.hasInput(2)) return attr;
        float lo = Float.NEGATIVE_INFINITY, hi = Float.POSITIVE_INFINITY;
        if (n.hasInput(1)) {
          if (!inits.containsKey(n.input(1))) return null;
          lo = inits.get(n.input(1)).asFloats()[0];
        }
        if (n.hasInput(2)) {
          if (!inits.containsKey(n.input(2))) return null;
          hi = inits.get(n.input(2)).asFloats()[0];
        }
        return Activation.clip(lo, hi);
      }
      default:
        return null;
    }
  }
}

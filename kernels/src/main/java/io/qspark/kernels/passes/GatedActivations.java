package io.qspark.kernels.passes;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.OpRegistry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Activations that exporters spell as a gate times its own input: Mul(x, Sigmoid(x)) is SiLU
 * (YOLOv5's Conv+BN+SiLU; PyTorch has no ONNX SiLU below opset 24) and Mul(x, HardSigmoid(x))
 * with alpha = 1/6, beta = 1/2 is HardSwish (MobileNetV3 exported below opset 14). Each pair
 * becomes one activation node, named and valued as the Mul, so partitioning and quantization
 * see one activation (one quantization point after it, none on the gate). The float values are
 * those of the two nodes. A gate also read elsewhere (a graph output, another node) stays.
 * Mul(x, Sigmoid(y)) with y another value (squeeze-excite, attention gates) is left alone.
 */
public final class GatedActivations {
  private GatedActivations() {}

  public static Graph apply(Graph g) {
    Map<Node, Node> replaced = new LinkedHashMap<>();
    Set<Node> removed = new HashSet<>();
    for (Node mul : g.nodes()) {
      if (!mul.opType().equals("Mul") || !mul.domain().isEmpty() || mul.inputs().size() != 2) continue;
      for (int side = 0; side < 2; side++) {
        String x = mul.input(1 - side);
        Node gate = g.producer(mul.input(side));
        if (gate == null || !gate.input(0).equals(x) || removed.contains(gate)) continue;
        Node act = activation(gate, mul);
        if (act == null) continue;
        replaced.put(mul, act);
        if (g.consumers(gate.outputs().get(0)).size() == 1 && !g.outputs().contains(gate.outputs().get(0))) removed.add(gate);
        break;
      }
    }
    if (replaced.isEmpty()) return g;
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) if (!removed.contains(n)) nodes.add(replaced.getOrDefault(n, n));
    return g.withNodes(nodes, g.initializers()).pruned();
  }

  /** The activation the gate and the Mul make, or null when they make none. */
  private static Node activation(Node gate, Node mul) {
    Attributes opset = mul.attributes().has(Attributes.OPSET)
        ? Attributes.empty().with(Attributes.OPSET, mul.attributes().opset()) : Attributes.empty();
    List<String> in = List.of(gate.input(0));
    if (gate.opType().equals("Sigmoid") && gate.domain().isEmpty()) {
      return new Node(mul.name(), Activation.SILU, OpRegistry.QSPARK_DOMAIN, in, mul.outputs(), opset);
    }
    if (gate.opType().equals("HardSigmoid") && gate.domain().isEmpty()) {
      Activation h = Activation.of("HardSigmoid", gate.attributes());
      // HardSwish's own constants are 1/6 and 1/2 in float; other gates are another function
      if (h.alpha() != 1f / 6 || gate.attributes().getFloat("beta", 0.5f) != 0.5f) return null;
      return new Node(mul.name(), "HardSwish", mul.domain(), in, mul.outputs(), opset);
    }
    return null;
  }
}

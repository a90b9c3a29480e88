package io.qspark.kernels.bench;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import java.util.List;

/** Arithmetic work of one forward pass, from the ops' own MAC counts at the model's shapes. */
final class ModelCost {
  private ModelCost() {}

  /**
   * Multiply-accumulates per image: every op's {@code macs} summed (only Conv, Gemm and MatMul
   * count any), with the batch dimension set to 1.
   */
  static long macsPerImage(Model model, Executor executor) {
    List<Node> nodes = model.graph().nodes();
    long total = 0;
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      total += executor.op(i).macs(shapes(model, n.inputs()), shapes(model, n.outputs()));
    }
    return total;
  }

  private static int[][] shapes(Model model, List<String> values) {
    int[][] s = new int[values.size()][];
    for (int j = 0; j < s.length; j++) {
      s[j] = values.get(j).isEmpty() ? new int[0] : model.shape(values.get(j));
      for (int d = 0; d < s[j].length; d++) if (s[j][d] < 0) s[j][d] = 1;
    }
    return s;
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.QuantPlan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a JVM needs to run fine-tuning shards of one model: the inference graph, its ops (one
 * executor, shared by all tasks), the quantization plan, when each value can be released, and
 * the layer kernels. Built once per executor JVM; never serialized.
 */
public final class ShardContext {
  final Graph graph;
  final Executor executor;
  final QuantPlan plan;
  /** For each node, the values whose last reader it is. */
  final List<List<String>> releaseAfter = new ArrayList<>();
  private final LayerFit[] fits;

  public ShardContext(Graph graph, QuantPlan plan) {
    this.graph = graph;
    this.executor = new Executor(graph);
    this.plan = plan;
    List<Node> nodes = graph.nodes();
    Map<String, Integer> last = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) for (String in : nodes.get(i).inputs()) last.put(in, i);
    for (int i = 0; i < nodes.size(); i++) releaseAfter.add(new ArrayList<>());
    last.forEach((v, i) -> {
      if (!graph.initializers().containsKey(v)) releaseAfter.get(i).add(v);
    });
    this.fits = new LayerFit[nodes.size()];
  }

  public Graph graph() {
    return graph;
  }

  public QuantPlan plan() {
    return plan;
  }

  synchronized LayerFit fit(int layer) {
    if (fits[layer] == null) fits[layer] = new LayerFit(graph.nodes().get(layer));
    return fits[layer];
  }
}

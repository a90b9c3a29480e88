package io.qspark.kernels.passes;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import java.util.List;

/** What the graph passes need to know before merging a node into its producer. */
final class Rewrites {
  private Rewrites() {}

  /**
   * The producer of {@code value} if the value can disappear into a merge: it is produced by a
   * node of one of {@code types}, read by exactly one node and not a graph output.
   */
  static Node soleProducer(Graph g, String value, List<String> types) {
    Node p = g.producer(value);
    if (p == null || !types.contains(p.opType()) || !p.outputs().get(0).equals(value)) return null;
    if (g.outputs().contains(value) || g.consumers(value).size() != 1) return null;
    return p;
  }

  /** A name for a new initializer that no existing value uses. */
  static String freshName(Graph g, java.util.Map<String, ?> taken, String base) {
    String name = base;
    for (int i = 1; taken.containsKey(name) || g.producer(name) != null || g.isInput(name); i++) {
      name = base + "_" + i;
    }
    return name;
  }
}

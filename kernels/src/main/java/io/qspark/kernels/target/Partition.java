package io.qspark.kernels.target;

import io.qspark.kernels.graph.Node;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each node of an inference graph runs on a target, and why; the DPU subgraphs this
 * makes (each one DPU call: convex, so no path leaves it through the CPU and comes back) and
 * the tensors that cross between CPU and DPU. Nodes are named as in reports: their name, or
 * their first output when unnamed.
 */
public final class Partition {
  /**
   * @param opClass the DPU op class the node maps to (null for ops with none)
   * @param subgraph index into {@link #subgraphs()}, -1 on the CPU
   */
  public record Placement(Node node, String name, boolean dpu, String reason, OpClass opClass, int subgraph) {}

  /** One DPU call: its nodes in execution order, the values it reads and the values it hands back. */
  public record Subgraph(String name, List<String> nodes, List<String> inputs, List<String> outputs) {
    public Subgraph {
      nodes = List.copyOf(nodes);
      inputs = List.copyOf(inputs);
      outputs = List.copyOf(outputs);
    }
  }

  private final DpuTarget target;
  private final List<Placement> placements;
  private final Map<String, Placement> byName;
  private final List<Subgraph> subgraphs;
  private final int toCpu;
  private final int toDpu;

  Partition(DpuTarget target, List<Placement> placements, List<Subgraph> subgraphs, int toCpu, int toDpu) {
    this.target = target;
    this.placements = List.copyOf(placements);
    Map<String, Placement> m = new LinkedHashMap<>();
    for (Placement p : placements) m.putIfAbsent(p.name(), p);
    this.byName = Collections.unmodifiableMap(m);
    this.subgraphs = List.copyOf(subgraphs);
    this.toCpu = toCpu;
    this.toDpu = toDpu;
  }

  /** How reports and this class name a node. */
  public static String nameOf(Node n) {
    return n.name().isEmpty() ? n.outputs().get(0) : n.name();
  }

  public DpuTarget target() {
    return target;
  }

  /** Every node in execution order. */
  public List<Placement> placements() {
    return placements;
  }

  public Placement placement(String nodeName) {
    Placement p = byName.get(nodeName);
    if (p == null) throw new IllegalArgumentException("no node '" + nodeName + "' in the partitioned graph");
    return p;
  }

  public boolean onDpu(String nodeName) {
    return placement(nodeName).dpu();
  }

  /** Why the node runs where it does, e.g. "DPU conv +relu" or "Conv k=17 > 16". */
  public String reason(String nodeName) {
    return placement(nodeName).reason();
  }

  public List<Subgraph> subgraphs() {
    return subgraphs;
  }

  /** DPU values a CPU node reads: each is copied out of the DPU once. */
  public int dpuToCpu() {
    return toCpu;
  }

  /** CPU values a DPU node reads (the model's own inputs excluded). */
  public int cpuToDpu() {
    return toDpu;
  }

  /** Tensors handed between CPU and DPU, both ways; 0 when the whole model is one DPU call. */
  public int transitions() {
    return toCpu + toDpu;
  }

  public long dpuNodes() {
    return placements.stream().filter(Placement::dpu).count();
  }
}

package io.qspark.kernels.target;

import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.target.OpRules.Status;
import io.qspark.kernels.target.OpRules.Verdict;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Splits an inference graph (BatchNorm folded, activations fused: what the DPU runs) between a
 * DPU target and the CPU. Each node is first judged on its own ({@link OpRules}); then reshapes
 * go to the DPU only between DPU ops (elsewhere they would only add a hand-over), and a
 * stand-alone activation only when its DPU producer can fuse it. Last, DPU nodes are grouped
 * into subgraphs that the DPU can run in one call each.
 */
public final class Partitioner {
  private Partitioner() {}

  public static Partition partition(Graph inferenceGraph, DpuTarget target) {
    return partition(inferenceGraph, ShapeInference.infer(inferenceGraph), target);
  }

  public static Partition partition(Graph g, Map<String, int[]> shapes, DpuTarget target) {
    return partition(g, shapes, target, Map.of());
  }

  /**
   * @param onCpu nodes to run on the CPU whatever the target could do (by {@link Partition#nameOf}),
   *     each with the reason reports give (a layer rule keeping it in float)
   */
  public static Partition partition(Graph g, Map<String, int[]> shapes, DpuTarget target, Map<String, String> onCpu) {
    List<Node> nodes = g.nodes();
    int n = nodes.size();
    Map<String, Integer> producer = new HashMap<>();
    Map<String, List<Integer>> consumers = new HashMap<>();
    for (int i = 0; i < n; i++) {
      for (String o : nodes.get(i).outputs()) if (!o.isEmpty()) producer.put(o, i);
      for (String in : new LinkedHashSet<>(nodes.get(i).inputs())) {
        if (!in.isEmpty()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
      }
    }
    OpRules rules = new OpRules(g, shapes, target);
    Verdict[] verdict = new Verdict[n];
    boolean[] dpu = new boolean[n];
    String[] reason = new String[n];
    for (int i = 0; i < n; i++) {
      verdict[i] = rules.judge(nodes.get(i));
      dpu[i] = verdict[i].status() != Status.CPU; // neighbour-dependent ones start on the DPU
      reason[i] = verdict[i].reason();
      String forced = onCpu.get(Partition.nameOf(nodes.get(i)));
      if (forced != null) {
        dpu[i] = false;
        reason[i] = forced;
      }
    }
    // only DPU -> CPU moves, so this settles after at most n rounds
    Context ctx = new Context(g, target, nodes, producer, consumers, verdict, dpu);
    for (boolean changed = true; changed;) {
      changed = false;
      for (int i = 0; i < n; i++) {
        Status s = verdict[i].status();
        if (!dpu[i] || (s != Status.PASS_THROUGH && s != Status.ACTIVATION)) continue;
        String why = s == Status.PASS_THROUGH ? ctx.passThrough(i) : ctx.activation(i);
        if (why != null) {
          dpu[i] = false;
          reason[i] = why;
          changed = true;
        }
      }
    }
    for (int i = 0; i < n; i++) {
      if (!dpu[i] || reason[i] != null) continue;
      Node node = nodes.get(i);
      if (verdict[i].status() == Status.PASS_THROUGH) {
        reason[i] = "DPU: " + node.opType() + " between DPU ops (layout only)";
      } else {
        Node p = nodes.get(producer.get(node.input(0)));
        reason[i] = "DPU: " + verdict[i].activation() + " fused into " + Partition.nameOf(p);
      }
    }
    int[] subgraphOf = subgraphs(nodes, producer, dpu);
    List<Partition.Subgraph> subgraphs = describe(g, nodes, producer, consumers, subgraphOf);
    List<Partition.Placement> placements = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Node node = nodes.get(i);
      placements.add(new Partition.Placement(node, Partition.nameOf(node), dpu[i], reason[i], verdict[i].opClass(),
          subgraphOf[i]));
    }
    int toCpu = 0;
    int toDpu = 0;
    for (Map.Entry<String, List<Integer>> e : consumers.entrySet()) {
      Integer p = producer.get(e.getKey());
      if (p == null) continue; // model inputs and initializers: the host's either way
      boolean crosses = false;
      for (int c : e.getValue()) crosses |= dpu[c] != dpu[p];
      if (!crosses) continue;
      if (dpu[p]) toCpu++;
      else toDpu++;
    }
    return new Partition(target, placements, subgraphs, toCpu, toDpu);
  }

  /** The rules for nodes that go where their neighbours let them. */
  private record Context(Graph g, DpuTarget target, List<Node> nodes, Map<String, Integer> producer,
      Map<String, List<Integer>> consumers, Verdict[] verdict, boolean[] dpu) {

    /** Null when a reshape may stay on the DPU, else why not. */
    String passThrough(int i) {
      Node n = nodes.get(i);
      Integer p = producer.get(n.input(0));
      if (p == null) return n.opType() + " of the model input (no DPU op before it)";
      if (!dpu[p]) return n.opType() + " after CPU op " + nodes.get(p).describe();
      for (int c : consumers.getOrDefault(n.outputs().get(0), List.of())) {
        if (!dpu[c]) return n.opType() + " feeding CPU op " + nodes.get(c).describe();
      }
      return null;
    }

    /** Null when a stand-alone activation can be fused into its producer, else why not. */
    String activation(int i) {
      Node n = nodes.get(i);
      String kind = verdict[i].activation();
      Integer p = producer.get(n.input(0));
      if (p == null) return n.opType() + " of the model input (the DPU fuses activations into the op before)";
      Node pn = nodes.get(p);
      if (!dpu[p]) return n.opType() + " after CPU op " + pn.describe();
      OpClass c = verdict[p].opClass();
      OpLimits l = verdict[p].status() == Status.DPU ? target.limits(c) : null;
      if (l == null || l.activations().isEmpty()) {
        return n.opType() + " after " + pn.describe() + ": the DPU fuses activations into conv, fully connected"
            + " and eltwise ops only";
      }
      if (!l.activations().contains(kind)) {
        return n.opType() + " (" + kind + ") not among " + c.label() + " activations (" + OpRules.list(l.activations()) + ")";
      }
      if (pn.attributes().has(Activation.FUSED)) {
        return n.opType() + " after " + pn.describe() + ", which already has a fused activation";
      }
      String v = n.input(0);
      if (consumers.get(v).size() > 1 || g.outputs().contains(v)) {
        return n.opType() + ": " + pn.describe() + "'s output is read elsewhere too, so it cannot be fused";
      }
      // qspark's quantized model gives every activation but ReLU (which keeps its input's
      // fix_point, QuantPlan.PASS_THROUGH) a quantization point of its own, before and after:
      // that is two layers, and the DPU has no stand-alone activation layer
      if (!kind.equals("relu")) {
        return n.opType() + " after " + pn.describe() + ": the DPU fuses " + kind + " without a quantization point"
            + " between, qspark quantizes it as a layer of its own, which runs on the CPU";
      }
      return null;
    }
  }

  /**
   * Subgraph index of each DPU node (-1 on the CPU). A node's stage counts the DPU-to-CPU
   * hand-overs on its longest path from the inputs; DPU nodes joined by an edge within one
   * stage share a subgraph, so a subgraph never waits on a CPU op that waits on it.
   */
  private static int[] subgraphs(List<Node> nodes, Map<String, Integer> producer, boolean[] dpu) {
    int n = nodes.size();
    int[] stage = new int[n];
    int[] parent = new int[n];
    for (int i = 0; i < n; i++) {
      parent[i] = i;
      for (String in : nodes.get(i).inputs()) {
        Integer p = producer.get(in);
        if (p != null) stage[i] = Math.max(stage[i], stage[p] + (dpu[p] && !dpu[i] ? 1 : 0));
      }
    }
    for (int i = 0; i < n; i++) {
      if (!dpu[i]) continue;
      for (String in : nodes.get(i).inputs()) {
        Integer p = producer.get(in);
        if (p != null && dpu[p] && stage[p] == stage[i]) parent[find(parent, i)] = find(parent, p);
      }
    }
    int[] index = new int[n];
    Map<Integer, Integer> roots = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      index[i] = dpu[i] ? roots.computeIfAbsent(find(parent, i), r -> roots.size()) : -1;
    }
    return index;
  }

  private static int find(int[] parent, int i) {
    while (parent[i] != i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  }

  private static List<Partition.Subgraph> describe(Graph g, List<Node> nodes, Map<String, Integer> producer,
      Map<String, List<Integer>> consumers, int[] subgraphOf) {
    int count = 0;
    for (int s : subgraphOf) count = Math.max(count, s + 1);
    List<Partition.Subgraph> r = new ArrayList<>();
    for (int s = 0; s < count; s++) {
      List<String> names = new ArrayList<>();
      Set<String> inputs = new LinkedHashSet<>();
      Set<String> outputs = new LinkedHashSet<>();
      for (int i = 0; i < nodes.size(); i++) {
        if (subgraphOf[i] != s) continue;
        Node node = nodes.get(i);
        names.add(Partition.nameOf(node));
        for (String in : node.inputs()) {
          if (in.isEmpty() || g.initializers().containsKey(in)) continue;
          Integer p = producer.get(in);
          if (p == null || subgraphOf[p] != s) inputs.add(in);
        }
        for (String o : node.outputs()) {
          if (o.isEmpty()) continue;
          boolean leaves = g.outputs().contains(o);
          for (int c : consumers.getOrDefault(o, List.of())) leaves |= subgraphOf[c] != s;
          if (leaves) outputs.add(o);
        }
      }
      r.add(new Partition.Subgraph("dpu" + s, names, new ArrayList<>(inputs), new ArrayList<>(outputs)));
    }
    return r;
  }
}

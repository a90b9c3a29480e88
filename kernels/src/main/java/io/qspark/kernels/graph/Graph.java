package io.qspark.kernels.graph;

import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dataflow graph in topological order. Immutable: passes (BatchNorm folding, constant
 * folding, quantization) return new graphs. Values are named; every node input is a graph
 * input, an initializer or another node's output, checked here so later stages need not.
 */
public final class Graph {
  private final String name;
  private final List<ValueInfo> inputs;
  private final List<String> outputs;
  private final Map<String, Tensor> initializers;
  private final List<Node> nodes;
  private final Map<String, Node> producers;
  private final int batchChunk;

  public Graph(String name, List<ValueInfo> inputs, List<String> outputs,
      Map<String, Tensor> initializers, List<Node> nodes) {
    this(name, inputs, outputs, initializers, nodes, 0);
  }

  /**
   * @param batchChunk 0 for a graph that runs any batch; B &gt; 0 for a fixed-batch export whose
   *     batch could not be freed: it runs on chunks of B images (see {@link #batchChunk()})
   */
  public Graph(String name, List<ValueInfo> inputs, List<String> outputs,
      Map<String, Tensor> initializers, List<Node> nodes, int batchChunk) {
    if (batchChunk < 0) throw new IllegalArgumentException("batchChunk " + batchChunk);
    this.batchChunk = batchChunk;
    this.name = name;
    this.inputs = List.copyOf(inputs);
    this.outputs = List.copyOf(outputs);
    this.initializers = Collections.unmodifiableMap(new LinkedHashMap<>(initializers));
    this.nodes = topologicalOrder(nodes, available(this.inputs, this.initializers));
    Map<String, Node> p = new HashMap<>();
    for (Node n : this.nodes) for (String o : n.outputs()) if (!o.isEmpty()) p.put(o, n);
    this.producers = p;
    for (String o : this.outputs) {
      if (!p.containsKey(o) && !this.initializers.containsKey(o) && !isInput(o)) {
        throw new GraphException("graph output '" + o + "' is produced by no node");
      }
    }
  }

  private static Set<String> available(List<ValueInfo> inputs, Map<String, Tensor> inits) {
    Set<String> s = new HashSet<>(inits.keySet());
    for (ValueInfo v : inputs) s.add(v.name());
    return s;
  }

  /** Kahn's algorithm, stable in file order, so results and reports are reproducible. */
  private static List<Node> topologicalOrder(List<Node> nodes, Set<String> ready) {
    Map<String, Integer> producerIndex = new HashMap<>();
    for (int i = 0; i < nodes.size(); i++) {
      for (String o : nodes.get(i).outputs()) {
        if (o.isEmpty()) continue;
        if (producerIndex.put(o, i) != null || ready.contains(o)) {
          throw new GraphException("tensor '" + o + "' is defined twice (second time by node "
              + nodes.get(i).describe() + ")");
        }
      }
    }
    int[] pending = new int[nodes.size()];
    Map<Integer, List<Integer>> consumers = new HashMap<>();
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      for (String in : new HashSet<>(nodes.get(i).inputs())) {
        if (in.isEmpty() || ready.contains(in)) continue;
        Integer p = producerIndex.get(in);
        if (p == null) {
          missing.add("'" + in + "' (input of " + nodes.get(i).describe() + ")");
          continue;
        }
        pending[i]++;
        consumers.computeIfAbsent(p, k -> new ArrayList<>()).add(i);
      }
    }
    if (!missing.isEmpty()) {
      throw new GraphException("tensors neither graph inputs, initializers nor node outputs: "
          + String.join(", ", missing));
    }
    java.util.PriorityQueue<Integer> queue = new java.util.PriorityQueue<>();
    for (int i = 0; i < nodes.size(); i++) if (pending[i] == 0) queue.add(i);
    List<Node> order = new ArrayList<>(nodes.size());
    while (!queue.isEmpty()) {
      int i = queue.poll();
      order.add(nodes.get(i));
      for (int c : consumers.getOrDefault(i, List.of())) if (--pending[c] == 0) queue.add(c);
    }
    if (order.size() != nodes.size()) {
      List<String> cyc = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) if (pending[i] > 0) cyc.add(nodes.get(i).describe());
      throw new GraphException("graph has a cycle through " + String.join(", ", cyc));
    }
    return Collections.unmodifiableList(order);
  }

  public String name() { return name; }

  /**
   * 0 when the graph takes any batch. B &gt; 0 when it was exported with a fixed batch of B that
   * its ops do not let be treated as a batch (they mix the images): every input then has B
   * images, and the executor runs a larger batch (a multiple of B) in chunks of B. Passes that
   * rebuild the graph through {@link #withNodes} and {@link #pruned} keep it.
   */
  public int batchChunk() { return batchChunk; }

  public List<ValueInfo> inputs() { return inputs; }

  public List<String> outputs() { return outputs; }

  public Map<String, Tensor> initializers() { return initializers; }

  public List<Node> nodes() { return nodes; }

  public boolean isInput(String value) {
    for (ValueInfo v : inputs) if (v.name().equals(value)) return true;
    return false;
  }

  /** The node that computes a value, or null for inputs and initializers. */
  public Node producer(String value) {
    return producers.get(value);
  }

  /** Nodes reading a value, in topological order. */
  public List<Node> consumers(String value) {
    List<Node> r = new ArrayList<>();
    for (Node n : nodes) if (n.inputs().contains(value)) r.add(n);
    return r;
  }

  public Graph withNodes(List<Node> newNodes, Map<String, Tensor> newInitializers) {
    return new Graph(name, inputs, outputs, newInitializers, newNodes, batchChunk);
  }

  /** The same graph with other input declarations (shapes fixed or freed). */
  public Graph withInputs(List<ValueInfo> newInputs) {
    return new Graph(name, newInputs, outputs, initializers, nodes, batchChunk);
  }

  /** The same graph run in chunks of {@code chunk} images (0: any batch). */
  public Graph withBatchChunk(int chunk) {
    return new Graph(name, inputs, outputs, initializers, nodes, chunk);
  }

  /** Initializers no node reads any more are dropped, so passes need not track them. */
  public Graph pruned() {
    Set<String> used = new HashSet<>(outputs);
    Deque<Node> keep = new ArrayDeque<>();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      boolean live = false;
      for (String o : n.outputs()) live |= used.contains(o);
      if (live) {
        keep.addFirst(n);
        used.addAll(n.inputs());
      }
    }
    Map<String, Tensor> inits = new LinkedHashMap<>();
    initializers.forEach((k, v) -> {
      if (used.contains(k)) inits.put(k, v);
    });
    return new Graph(name, inputs, outputs, inits, new ArrayList<>(keep), batchChunk);
  }
}

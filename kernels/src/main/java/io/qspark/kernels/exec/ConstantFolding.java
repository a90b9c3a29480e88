package io.qspark.kernels.exec;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.ops.Resize;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Replaces what a graph computes from constants and shapes alone (Constant nodes, initializers,
 * Shape and what exporters compute from it: Gather, Slice, Concat, Unsqueeze, Cast, Equal,
 * Where, ...) by initializers, so later passes see plain weights and fixed Reshape targets.
 *
 * <p>Values come from {@link ShapeInference}'s two runs (batch 1 and 2): a value that does not
 * depend on the input's data (only on shapes and constants) and is the same in both runs is a
 * constant. One that differs follows the batch: a Reshape target, Resize sizes or Expand shape
 * of that kind cannot be a constant, so it is rewritten as one that holds for any batch, where
 * its meaning allows: a Reshape entry that follows the batch becomes -1 (the only unknown) or 0
 * (copy the input's own dimension), Resize sizes become scales (1 on the dimensions the input
 * keeps), an Expand entry equal to the input's own dimension becomes 1. The rewritten value is
 * checked against both runs. What cannot be rewritten keeps its nodes and is computed at run
 * time.
 */
public final class ConstantFolding {
  private ConstantFolding() {}

  public static Graph apply(Graph graph, ShapeInference.Runs runs) {
    Set<String> data = dataDependent(graph);
    Map<String, Tensor> inits = new LinkedHashMap<>(graph.initializers());
    List<Node> kept = new ArrayList<>();
    Set<String> batchLinear = new HashSet<>();
    for (Node n : graph.nodes()) {
      if (n.outputs().stream().anyMatch(data::contains)) {
        kept.add(n);
        continue;
      }
      boolean same = true;
      for (String o : n.outputs()) {
        if (o.isEmpty()) continue;
        Tensor a = runs.one().get(o), b = runs.two().get(o);
        if (a == null || b == null || !equal(a, b)) same = false;
      }
      if (!same) {
        for (String o : n.outputs()) batchLinear.add(o);
        kept.add(n);
        continue;
      }
      for (String o : n.outputs()) if (!o.isEmpty()) inits.put(o, runs.one().get(o));
    }
    List<Node> nodes = new ArrayList<>();
    for (Node n : kept) {
      Node r = n;
      if (!batchLinear.contains(n.outputs().get(0))) r = rewrite(graph, n, batchLinear, runs, inits);
      nodes.add(r);
    }
    if (nodes.equals(graph.nodes())) return graph;
    return graph.withNodes(nodes, inits).pruned();
  }

  /**
   * Values that depend on the data of a graph input: everything downstream of an input except
   * through Shape (whose output depends on the input's shape only).
   */
  static Set<String> dataDependent(Graph g) {
    Set<String> d = new HashSet<>();
    for (ValueInfo in : g.inputs()) d.add(in.name());
    for (Node n : g.nodes()) {
      boolean dep = n.opType().equals("Dropout") || n.opType().startsWith("Random");
      if (!n.opType().equals("Shape")) for (String in : n.inputs()) dep |= d.contains(in);
      if (dep) for (String o : n.outputs()) if (!o.isEmpty()) d.add(o);
    }
    return d;
  }

  private static boolean equal(Tensor a, Tensor b) {
    if (a.dtype() != b.dtype() || !Arrays.equals(a.shape(), b.shape())) return false;
    return a.isFloat() ? Arrays.equals(a.data(), b.data()) : Arrays.equals(a.longs(), b.longs());
  }

  /** A node reading a batch-following shape value, with that value made a constant where it can be. */
  private static Node rewrite(Graph g, Node n, Set<String> linear, ShapeInference.Runs runs, Map<String, Tensor> inits) {
    switch (n.opType()) {
      case "Reshape": {
        if (!linear.contains(n.input(1))) return n;
        long[] t = reshapeTarget(n, runs);
        return t == null ? n : withInput(g, n, 1, Tensor.ofLongs(t, t.length), inits, "target");
      }
      case "Expand": {
        if (!linear.contains(n.input(1))) return n;
        long[] t = expandShape(n, runs);
        return t == null ? n : withInput(g, n, 1, Tensor.ofLongs(t, t.length), inits, "shape");
      }
      case "Resize": {
        if (n.attributes().opset() < 11 || !linear.contains(n.input(3))) return n;
        long[] one = runs.one().get(n.input(3)).asLongs(), two = runs.two().get(n.input(3)).asLongs();
        float[] s = scales(runs.shape(n.input(0), 1), runs.shape(n.input(0), 2), one, two);
        if (s == null) return n;
        Node r = withInput(g, n, 2, Tensor.of(s, s.length), inits, "scales");
        List<String> ins = new ArrayList<>(r.inputs().subList(0, 3));
        return new Node(r.name(), r.opType(), r.domain(), ins, r.outputs(), r.attributes());
      }
      default:
        return n;
    }
  }

  /**
   * A Reshape target that gives both runs' shapes: entries that differ between the runs become
   * 0 where they copy the input's dimension, else the single one becomes -1.
   */
  static long[] reshapeTarget(Node n, ShapeInference.Runs runs) {
    long[] one = runs.one().get(n.input(1)).asLongs(), two = runs.two().get(n.input(1)).asLongs();
    int[] x1 = runs.shape(n.input(0), 1), x2 = runs.shape(n.input(0), 2);
    int[] y1 = runs.shape(n.outputs().get(0), 1), y2 = runs.shape(n.outputs().get(0), 2);
    if (one.length != two.length || x1 == null || x2 == null || y1 == null || y2 == null) return null;
    boolean allowZero = n.attributes().getInt("allowzero", 0) != 0;
    long[] t = one.clone();
    List<Integer> open = new ArrayList<>();
    for (int i = 0; i < t.length; i++) {
      if (one[i] == two[i]) continue;
      if (!allowZero && i < x1.length && i < x2.length && x1[i] == one[i] && x2[i] == two[i]) t[i] = 0;
      else open.add(i);
    }
    if (open.size() > 1) return null;
    if (open.size() == 1) {
      for (long v : t) if (v == -1) return null;
      t[open.get(0)] = -1;
    }
    return gives(x1, t, allowZero, y1) && gives(x2, t, allowZero, y2) ? t : null;
  }

  private static boolean gives(int[] from, long[] target, boolean allowZero, int[] want) {
    try {
      return Arrays.equals(io.qspark.kernels.ops.Reshape.target(from, target, allowZero), want);
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Expand's shape with the entries that follow the batch as 1 where the input has that dimension already. */
  static long[] expandShape(Node n, ShapeInference.Runs runs) {
    long[] one = runs.one().get(n.input(1)).asLongs(), two = runs.two().get(n.input(1)).asLongs();
    int[] x1 = runs.shape(n.input(0), 1), x2 = runs.shape(n.input(0), 2);
    if (one.length != two.length || x1 == null || x2 == null) return null;
    long[] t = one.clone();
    for (int i = 0; i < t.length; i++) {
      if (one[i] == two[i]) continue;
      int j = i - (t.length - x1.length); // numpy alignment from the right
      if (j < 0 || x1[j] != one[i] || x2[j] != two[i]) return null;
      t[i] = 1;
    }
    return t;
  }

  /**
   * Scales for Resize sizes that follow the batch: 1 where the sizes are the input's own
   * dimensions in both runs, {@link Resize#scaleFor} where both the size and the input's
   * dimension are fixed; null otherwise.
   */
  public static float[] scales(int[] x1, int[] x2, long[] one, long[] two) {
    if (x1 == null || x2 == null || one.length != x1.length || two.length != x1.length) return null;
    float[] s = new float[one.length];
    for (int d = 0; d < s.length; d++) {
      if (one[d] == x1[d] && two[d] == x2[d]) {
        s[d] = 1f;
      } else if (one[d] == two[d] && x1[d] == x2[d] && x1[d] > 0 && one[d] > 0) {
        s[d] = Resize.scaleFor(x1[d], (int) one[d]);
      } else {
        return null;
      }
    }
    return s;
  }

  private static Node withInput(Graph g, Node n, int index, Tensor value, Map<String, Tensor> inits, String what) {
    String base = (n.name().isEmpty() ? n.outputs().get(0) : n.name()) + "/" + what;
    String name = base;
    for (int i = 1; inits.containsKey(name) || g.producer(name) != null || g.isInput(name); i++) name = base + "_" + i;
    inits.put(name, value);
    List<String> ins = new ArrayList<>(n.inputs());
    while (ins.size() <= index) ins.add("");
    ins.set(index, name);
    return new Node(n.name(), n.opType(), n.domain(), ins, n.outputs(), n.attributes());
  }
}

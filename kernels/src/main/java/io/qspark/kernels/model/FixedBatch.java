package io.qspark.kernels.model;

import io.qspark.kernels.exec.ConstantFolding;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Frees the batch of a model exported with a fixed one (PyTorch's default: no dynamic_axes):
 * the inputs' leading dimension becomes dynamic, and the constants that carried the batch
 * (Reshape targets, Resize sizes, Expand shapes whose first entry is the batch of a value whose
 * first dimension is the batch) are rewritten as in {@link ConstantFolding}. The result is kept
 * only if it is the same model: every output's leading dimension follows the batch, and on
 * random inputs of two batches its outputs equal, bit for bit, the exported graph's run on
 * each batch separately (ops compute every image on its own, so a graph that does not mix its
 * images gives the same bits). Otherwise the graph mixes its images and runs in chunks.
 */
final class FixedBatch {
  private FixedBatch() {}

  /** The graph with its batch freed, or null when freeing it would change what it computes. */
  static Graph free(Graph fixed, int batch, Map<String, int[]> shapes) {
    Graph candidate;
    try {
      candidate = rewrite(fixed, batch, shapes);
      ShapeInference.Runs runs = ShapeInference.runs(candidate);
      for (String o : fixed.outputs()) {
        int[] s = shapes.get(o), one = runs.shape(o, 1), two = runs.shape(o, 2);
        if (s == null || one == null || two == null || s.length == 0 || s[0] != batch || one[0] != 1 || two[0] != 2) return null;
        if (!Arrays.equals(Arrays.copyOfRange(s, 1, s.length), Arrays.copyOfRange(one, 1, one.length))
            || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length), Arrays.copyOfRange(two, 1, two.length))) {
          return null;
        }
      }
      return sameOutputs(fixed, candidate, batch) ? candidate : null;
    } catch (GraphException e) {
      return null;
    }
  }

  private static Graph rewrite(Graph g, int batch, Map<String, int[]> shapes) {
    Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) {
      int[] x = shapes.get(n.input(0));
      boolean batched = x != null && x.length > 0 && x[0] == batch;
      Node r = n;
      if (batched && n.opType().equals("Reshape") && inits.containsKey(n.input(1))) {
        long[] t = inits.get(n.input(1)).asLongs().clone();
        if (t.length > 0 && t[0] == batch) {
          boolean allowZero = n.attributes().getInt("allowzero", 0) != 0;
          if (allowZero && Arrays.stream(t).anyMatch(v -> v == -1)) return g; // nothing that holds for any batch
          t[0] = allowZero ? -1 : 0;
          r = withInput(n, 1, Tensor.ofLongs(t, t.length), inits, "target");
        }
      } else if (batched && n.opType().equals("Resize") && n.attributes().opset() >= 11 && inits.containsKey(n.input(3))) {
        long[] sizes = inits.get(n.input(3)).asLongs();
        if (sizes.length == x.length && sizes[0] == batch) {
          float[] s = ConstantFolding.scales(x, x, sizes, sizes);
          if (s != null) {
            r = withInput(n, 2, Tensor.of(s, s.length), inits, "scales");
            r = new Node(r.name(), r.opType(), r.domain(), r.inputs().subList(0, 3), r.outputs(), r.attributes());
          }
        }
      } else if (batched && n.opType().equals("Expand") && inits.containsKey(n.input(1))) {
        long[] t = inits.get(n.input(1)).asLongs().clone();
        if (t.length == x.length && t[0] == batch) {
          t[0] = 1;
          r = withInput(n, 1, Tensor.ofLongs(t, t.length), inits, "shape");
        }
      }
      nodes.add(r);
    }
    List<ValueInfo> inputs = new ArrayList<>();
    for (ValueInfo in : g.inputs()) {
      int[] s = in.shape();
      s[0] = -1;
      inputs.add(new ValueInfo(in.name(), s));
    }
    return new Graph(g.name(), inputs, g.outputs(), inits, nodes).pruned();
  }

  private static Node withInput(Node n, int index, Tensor value, Map<String, Tensor> inits, String what) {
    String base = (n.name().isEmpty() ? n.outputs().get(0) : n.name()) + "/any_batch_" + what;
    String name = base;
    for (int i = 1; inits.containsKey(name); i++) name = base + "_" + i;
    inits.put(name, value);
    List<String> ins = new ArrayList<>(n.inputs());
    while (ins.size() <= index) ins.add("");
    ins.set(index, name);
    return new Node(n.name(), n.opType(), n.domain(), ins, n.outputs(), n.attributes());
  }

  /** Two batches of random inputs through the freed graph equal the fixed graph run on each. */
  private static boolean sameOutputs(Graph fixed, Graph freed, int batch) {
    Random rnd = new Random(17);
    Map<String, Tensor> both = new LinkedHashMap<>();
    Map<String, Tensor> first = new LinkedHashMap<>(), second = new LinkedHashMap<>();
    for (ValueInfo in : fixed.inputs()) {
      int[] s = in.shape();
      s[0] = 2 * batch;
      float[] v = new float[(int) Tensor.size(s)];
      for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
      Tensor t = Tensor.of(v, s);
      both.put(in.name(), t);
      first.put(in.name(), t.slice0(0, batch));
      second.put(in.name(), t.slice0(batch, 2 * batch));
    }
    Map<String, Tensor> whole = new Executor(freed).run(both);
    Executor ex = new Executor(fixed);
    Map<String, Tensor> a = ex.run(first), b = ex.run(second);
    for (String o : fixed.outputs()) {
      Tensor w = whole.get(o), p = a.get(o), q = b.get(o);
      if (w.dtype() != p.dtype() || w.size() != p.size() + q.size()) return false;
      if (!Arrays.equals(bits(w), 0, p.size(), bits(p), 0, p.size())
          || !Arrays.equals(bits(w), p.size(), w.size(), bits(q), 0, q.size())) {
        return false;
      }
    }
    return true;
  }

  /** The values' bits (NaNs made one), so equality is bit for bit. */
  private static long[] bits(Tensor t) {
    if (!t.isFloat()) return t.longs();
    float[] f = t.data();
    long[] r = new long[f.length];
    for (int i = 0; i < f.length; i++) r[i] = Float.floatToIntBits(f[i]);
    return r;
  }
}

package io.qspark.kernels.passes;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.BatchNormalization;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds an inference BatchNormalization into the Conv or Gemm before it: W'[oc] = W[oc]·γ/σ,
 * b' = (b − μ)·γ/σ + β. The folded layer computes the same function up to float rounding and
 * is what the DPU executes, so quantization sees the weights it will deploy.
 */
public final class FoldBatchNorm {
  private FoldBatchNorm() {}

  public static Graph apply(Graph g) {
    Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
    Map<Node, Node> replaced = new LinkedHashMap<>();
    List<Node> removed = new ArrayList<>();
    for (Node bn : g.nodes()) {
      if (!bn.opType().equals("BatchNormalization") || bn.outputs().size() > 1 && !bn.outputs().get(1).isEmpty()) continue;
      Node p = Rewrites.soleProducer(g, bn.input(0), List.of("Conv", "Gemm"));
      if (p == null || replaced.containsKey(p) || !allConstant(bn, 1, 5, inits)) continue;
      if (!inits.containsKey(p.input(1)) || p.hasInput(2) && !inits.containsKey(p.input(2))) continue;
      float[][] ab = new BatchNormalization(bn.attributes()).affine(inits.get(bn.input(1)),
          inits.get(bn.input(2)), inits.get(bn.input(3)), inits.get(bn.input(4)));
      Node folded = p.opType().equals("Conv") ? conv(g, p, bn, ab, inits) : gemm(g, p, bn, ab, inits);
      if (folded == null) continue;
      replaced.put(p, folded);
      removed.add(bn);
    }
    if (replaced.isEmpty()) return g;
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) {
      if (removed.contains(n)) continue;
      nodes.add(replaced.getOrDefault(n, n));
    }
    return g.withNodes(nodes, inits).pruned();
  }

  private static boolean allConstant(Node n, int from, int to, Map<String, Tensor> inits) {
    for (int i = from; i < to; i++) if (!inits.containsKey(n.input(i))) return false;
    return true;
  }

  private static Node conv(Graph g, Node conv, Node bn, float[][] ab, Map<String, Tensor> inits) {
    Tensor w = inits.get(conv.input(1));
    int oc = w.dim(0);
    if (ab[0].length != oc) return null;
    float[] wd = w.data().clone();
    int per = wd.length / oc;
    for (int o = 0; o < oc; o++) for (int i = o * per; i < (o + 1) * per; i++) wd[i] *= ab[0][o];
    float[] b = bias(conv.hasInput(2) ? inits.get(conv.input(2)) : null, oc, ab);
    return rebuild(g, conv, bn, Tensor.of(wd, w.shape()), Tensor.of(b, oc), inits);
  }

  private static Node gemm(Graph g, Node gemm, Node bn, float[][] ab, Map<String, Tensor> inits) {
    var a = gemm.attributes();
    if (a.getInt("transA", 0) != 0 || a.getFloat("alpha", 1f) != 1f || a.getFloat("beta", 1f) != 1f) return null;
    Tensor w = inits.get(gemm.input(1));
    boolean transB = a.getInt("transB", 0) != 0;
    int n = transB ? w.dim(0) : w.dim(1);
    int k = transB ? w.dim(1) : w.dim(0);
    if (ab[0].length != n) return null;
    Tensor c = gemm.hasInput(2) ? inits.get(gemm.input(2)) : null;
    if (c != null && c.size() != n && c.size() != 1) return null;
    float[] wd = w.data().clone();
    for (int j = 0; j < n; j++) {
      for (int i = 0; i < k; i++) wd[transB ? j * k + i : i * n + j] *= ab[0][j];
    }
    float[] b = bias(c, n, ab);
    return rebuild(g, gemm, bn, Tensor.of(wd, w.shape()), Tensor.of(b, n), inits);
  }

  private static float[] bias(Tensor old, int n, float[][] ab) {
    float[] b = new float[n];
    for (int o = 0; o < n; o++) {
      float b0 = old == null ? 0f : old.data()[old.size() == 1 ? 0 : o];
      b[o] = b0 * ab[0][o] + ab[1][o];
    }
    return b;
  }

  private static Node rebuild(Graph g, Node p, Node bn, Tensor w, Tensor b, Map<String, Tensor> inits) {
    String wName = Rewrites.freshName(g, inits, p.input(1) + "_bnfold");
    inits.put(wName, w);
    String bName = Rewrites.freshName(g, inits, (p.hasInput(2) ? p.input(2) : p.name() + ".bias") + "_bnfold");
    inits.put(bName, b);
    return new Node(p.name(), p.opType(), p.domain(), List.of(p.input(0), wName, bName),
        List.of(bn.outputs().get(0)), p.attributes());
  }
}

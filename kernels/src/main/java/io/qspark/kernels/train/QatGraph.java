package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.BatchNormalization;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.passes.FuseActivation;
import io.qspark.kernels.passes.InferencePasses;
import io.qspark.kernels.quant.DpuGraph;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The two graphs QAT trains, made from the float model (BatchNorm not folded).
 *
 * <p>Before BatchNorm is frozen, every Conv → BatchNormalization pair trains as PyTorch's
 * fused ConvBn QAT module does (Krishnamoorthi 2018, section 3.2): the conv weight is folded with
 * the running statistics, W·γ/σ_running, and fake-quantized under the name and fix_point the
 * folded weight has in the deployed model; the conv output is divided by γ/σ_running again and
 * BatchNorm normalizes it with the batch's own statistics (which cancel the conv bias, so it is
 * not added there; the fold puts it back): the division, BatchNorm and the activation that
 * follows are one {@link QatBatchNorm}, as is every other BatchNorm. The weights the
 * network learns are therefore always the quantized folded ones, while BatchNorm still sees
 * batch statistics. After the freeze, the model is folded with the running statistics
 * (FoldBatchNorm) and fused (FuseActivation), which is exactly the inference graph calibrate and
 * deploy use: training continues on it with the folded weights and biases as parameters.
 */
public final class QatGraph {
  /** 1/sqrt(running_var + eps) of a pair's BatchNorm: fed each step from the running variance. */
  static final String INV_STD = "/qat_inv_std";

  /** A Conv → BatchNorm pair: the initializers it reads and the folded weight's name in the deployed graph. */
  public record Pair(String conv, String weight, String bias, Norm bn, String foldedWeight) implements java.io.Serializable {}

  /** A pair's BatchNorm: its initializers (scale, shift, running mean and variance) and epsilon. */
  public record Norm(String scale, String shift, String mean, String var, float epsilon) implements java.io.Serializable {}

  private final Graph floatGraph;
  private final List<Pair> pairs;
  private final Graph batchStatistics;

  private QatGraph(Graph floatGraph, List<Pair> pairs, Graph batchStatistics) {
    this.floatGraph = floatGraph;
    this.pairs = pairs;
    this.batchStatistics = batchStatistics;
  }

  /** @param floatGraph the imported model, constants folded, BatchNorm not folded */
  public static QatGraph of(Graph floatGraph) {
    Graph inference = InferencePasses.apply(floatGraph);
    Map<String, Node> inferenceByName = new LinkedHashMap<>();
    for (Node n : inference.nodes()) inferenceByName.put(n.name(), n);
    Map<String, Tensor> inits = new LinkedHashMap<>(floatGraph.initializers());
    List<Node> nodes = new ArrayList<>();
    List<Pair> pairs = new ArrayList<>();
    Map<String, String[]> unfolds = new LinkedHashMap<>(); // a pair's conv output -> {z, divisor}
    Set<Node> fusedActivations = new java.util.HashSet<>();
    for (Node n : floatGraph.nodes()) {
      if (fusedActivations.contains(n)) continue;
      if (!n.opType().equals("BatchNormalization")) {
        Pair p = pairOf(floatGraph, n, inferenceByName);
        if (p == null) {
          nodes.add(n);
          continue;
        }
        pairs.add(p);
        int m = inits.get(p.weight()).dim(0);
        int rank = inits.get(p.weight()).rank();
        String base = n.name().isEmpty() ? n.outputs().get(0) : n.name();
        String inv = base + INV_STD, scale = base + "/qat_scale", scaleW = base + "/qat_scale_w",
            z = base + "/qat_z", shapeW = base + "/qat_shape_w";
        inits.put(inv, Tensor.of(invStd(inits.get(p.bn().var()).data(), p.bn().epsilon()), m));
        long[] sw = new long[rank];
        java.util.Arrays.fill(sw, 1);
        sw[0] = m;
        inits.put(shapeW, Tensor.ofLongs(sw, rank));
        nodes.add(new Node(base + "/qat_scale", "Mul", List.of(p.bn().scale(), inv), List.of(scale), Attributes.empty()));
        nodes.add(new Node(base + "/qat_reshape_w", "Reshape", List.of(scale, shapeW), List.of(scaleW), Attributes.empty()));
        nodes.add(new Node(base + "/qat_fold", "Mul", List.of(p.weight(), scaleW), List.of(p.foldedWeight()), Attributes.empty()));
        nodes.add(new Node(n.name(), "Conv", n.domain(), List.of(n.input(0), p.foldedWeight()), List.of(z), n.attributes()));
        // the conv bias is left out: batch statistics subtract it again (its gradient is 0);
        // the fold at the freeze puts it back through the running mean. The BatchNorm divides
        // the conv output by the scale again (QatBatchNorm's divisor)
        unfolds.put(n.outputs().get(0), new String[] {z, scale});
        continue;
      }
      nodes.add(batchStatistics(floatGraph, n, unfolds.get(n.input(0)), fusedActivations));
    }
    return new QatGraph(floatGraph, List.copyOf(pairs), floatGraph.withNodes(nodes, inits));
  }

  /**
   * A BatchNorm as QAT trains it: a {@link QatBatchNorm} on the batch's statistics, reading the
   * pair's conv output and divisor if a pair precedes it, with the activation that is its only
   * reader fused in (as the inference graph fuses it into the conv, so no quantization point lies
   * between them).
   */
  private static Node batchStatistics(Graph g, Node bn, String[] unfold, Set<Node> fusedActivations) {
    String out = bn.outputs().get(0);
    List<String> in = new ArrayList<>(bn.inputs().subList(0, 5));
    if (unfold != null) {
      in.set(0, unfold[0]);
      in.add(unfold[1]);
    }
    Attributes a = Attributes.empty().with("epsilon", new BatchNormalization(bn.attributes()).epsilon());
    List<Node> readers = g.consumers(out);
    if (readers.size() == 1 && !g.outputs().contains(out)) {
      Activation act = FuseActivation.activation(readers.get(0), g.initializers());
      if (act != null) {
        a = act.fuseInto(a);
        out = readers.get(0).outputs().get(0);
        fusedActivations.add(readers.get(0));
      }
    }
    String base = bn.outputs().get(0);
    return new Node(bn.name(), QatBatchNorm.OP_TYPE, QatBatchNorm.DOMAIN, in,
        List.of(out, base + "/qat_batch_mean", base + "/qat_batch_var"), a);
  }

  /** The pair whose conv this is, if its only reader is an inference BatchNorm that the inference passes fold into it. */
  private static Pair pairOf(Graph g, Node conv, Map<String, Node> inference) {
    if (!conv.opType().equals("Conv") || !g.initializers().containsKey(conv.input(1))) return null;
    List<Node> readers = g.consumers(conv.outputs().get(0));
    if (readers.size() != 1 || !readers.get(0).opType().equals("BatchNormalization")) return null;
    if (g.outputs().contains(conv.outputs().get(0))) return null;
    Node bn = readers.get(0);
    for (int i = 1; i < 5; i++) if (!g.initializers().containsKey(bn.input(i))) return null;
    Node folded = inference.get(conv.name());
    // folded: the inference graph's conv of the same name reads a new (folded) weight
    if (folded == null || folded.inputs().size() < 2 || g.initializers().containsKey(folded.input(1)) || conv.name().isEmpty()) {
      return null;
    }
    Norm norm = new Norm(bn.input(1), bn.input(2), bn.input(3), bn.input(4), new BatchNormalization(bn.attributes()).epsilon());
    return new Pair(conv.name(), conv.input(1), conv.hasInput(2) ? conv.input(2) : null, norm, folded.input(1));
  }

  public Graph floatGraph() {
    return floatGraph;
  }

  public List<Pair> pairs() {
    return pairs;
  }

  /** The graph trained before BatchNorm is frozen, as the DPU computes (average pooling's divisor). */
  public Graph batchStatistics(QuantPlan plan) {
    return DpuGraph.of(batchStatistics, plan);
  }

  /** The same before DpuGraph's changes (for gradient checks on graphs without a quantized region). */
  Graph batchStatistics() {
    return batchStatistics;
  }

  /** Initializers trained before the freeze: weights and biases of every Conv/Gemm/MatMul, BatchNorm's scale and shift. */
  public Set<String> trainableBeforeFreeze() {
    Set<String> r = new LinkedHashSet<>();
    for (Node n : batchStatistics.nodes()) trainable(batchStatistics, n, r);
    for (Pair p : pairs) {
      r.add(p.weight());
      if (p.bias() != null) r.add(p.bias());
    }
    return r;
  }

  /** The same after the freeze, on the inference graph. */
  public static Set<String> trainableAfterFreeze(Graph inference) {
    Set<String> r = new LinkedHashSet<>();
    for (Node n : inference.nodes()) trainable(inference, n, r);
    return r;
  }

  private static void trainable(Graph g, Node n, Set<String> r) {
    int[] idx;
    switch (n.opType()) {
      case "Conv": case "Gemm": case "MatMul": idx = new int[] {1, 2}; break;
      case "BatchNormalization": case QatBatchNorm.OP_TYPE: idx = new int[] {1, 2}; break;
      default: return;
    }
    for (int i : idx) {
      if (n.hasInput(i) && g.initializers().containsKey(n.input(i)) && g.initializers().get(n.input(i)).isFloat()) r.add(n.input(i));
    }
  }

  /**
   * The float model with these values for its initializers (trained weights, BatchNorm's
   * running statistics), BatchNorm folded and activations fused: the deployed model's graph.
   */
  public Graph inference(Map<String, float[]> values) {
    return InferencePasses.apply(withValues(floatGraph, values));
  }

  /** A graph with some initializers replaced, same shapes. */
  public static Graph withValues(Graph g, Map<String, float[]> values) {
    Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
    values.forEach((k, v) -> {
      Tensor t = inits.get(k);
      if (t != null) inits.put(k, Tensor.of(v.clone(), t.shape()));
    });
    return g.withNodes(g.nodes(), inits);
  }

  /** 1/sqrt(var + eps) for each pair, the feeds of the batch-statistics graph that follow the running variance. */
  Map<String, Tensor> invStdFeeds(Map<String, float[]> values) {
    Map<String, Tensor> r = new LinkedHashMap<>();
    for (Pair p : pairs) {
      String var = p.bn().var();
      float[] v = values.containsKey(var) ? values.get(var) : floatGraph.initializers().get(var).data();
      r.put(p.conv() + INV_STD, Tensor.of(invStd(v, p.bn().epsilon()), v.length));
    }
    return r;
  }

  private static float[] invStd(float[] var, float eps) {
    float[] inv = new float[var.length];
    for (int i = 0; i < var.length; i++) inv[i] = (float) (1.0 / Math.sqrt((double) var[i] + eps));
    return inv;
  }
}

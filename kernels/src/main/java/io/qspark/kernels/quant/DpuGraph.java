package io.qspark.kernels.quant;

import io.qspark.kernels.ops.DpuAveragePool;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where the DPU computes something other than the float model, the fake-quant graph does what
 * the DPU does: average pooling multiplies by {@link DpuAveragePool}'s approximation of
 * 1/area, and LeakyReLU's slope is 26/256. Applied to the quantized region only (what lies
 * outside runs on the CPU in float), and not to nodes a rule keeps in float ({@link LayerRule#exclude}).
 */
public final class DpuGraph {
  /** The DPU's LeakyReLU slope, whatever the model says (Vitis forces it; 0.1015625 exactly). */
  public static final float LEAKY_SLOPE = 26f / 256f;

  private DpuGraph() {}

  /** The inference graph as the DPU computes it, for fake-quant. */
  public static Graph of(Graph g, QuantPlan plan) {
    Map<String, int[]> shapes = null;
    List<Node> nodes = new ArrayList<>();
    boolean changed = false;
    for (Node n : g.nodes()) {
      Node r = n;
      if (quantizedPool(n, plan)) {
        if (shapes == null) shapes = ShapeInference.infer(g);
        DpuAveragePool d = averagePool(n, shapes.get(n.input(0)));
        r = with(n, n.attributes().with(DpuAveragePool.MULTIPLIER, (long) d.multiplier())
            .with(DpuAveragePool.SHIFT, (long) d.shift()));
      } else if (quantizedLeaky(n, plan)) {
        r = with(n, n.attributes().with(Activation.FUSED_ALPHA, LEAKY_SLOPE));
      }
      changed |= r != n;
      nodes.add(r);
    }
    return changed ? g.withNodes(nodes, g.initializers()) : g;
  }

  /**
   * The same in standard ONNX ops, for the QDQ export: each quantized average pooling is
   * followed by a Mul by area * multiplier / 2^shift (exact in float), fused LeakyReLUs take
   * the DPU's slope.
   */
  public static Graph forOnnx(Graph g, QuantPlan plan) {
    Map<String, int[]> shapes = null;
    Map<String, io.qspark.kernels.tensor.Tensor> inits = new java.util.LinkedHashMap<>(g.initializers());
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) {
      if (quantizedPool(n, plan)) {
        if (shapes == null) shapes = ShapeInference.infer(g);
        int[] k = window(n, shapes.get(n.input(0)));
        double scale = DpuAveragePool.of(k[0], k[1]).scale(k[0] * k[1]);
        String out = n.outputs().get(0);
        String mean = out + "/mean", factor = out + "/dpu_scale";
        inits.put(factor, io.qspark.kernels.tensor.Tensor.scalar((float) scale));
        nodes.add(new Node(n.name(), n.opType(), n.domain(), n.inputs(), List.of(mean), n.attributes()));
        nodes.add(new Node(n.name() + "/DpuAverage", "Mul", List.of(mean, factor), List.of(out), Attributes.empty()));
      } else if (quantizedLeaky(n, plan)) {
        nodes.add(with(n, n.attributes().with(Activation.FUSED_ALPHA, LEAKY_SLOPE)));
      } else {
        nodes.add(n);
      }
    }
    return g.withNodes(nodes, inits);
  }

  /** An average pooling whose input and output are both quantized, not excluded: the DPU computes it. */
  public static boolean quantizedPool(Node n, QuantPlan plan) {
    return (n.opType().equals("AveragePool") || n.opType().equals("GlobalAveragePool"))
        && plan.pointOf(n.input(0)) != null && plan.pointOf(n.outputs().get(0)) != null && plan.excludedBy(n) == null;
  }

  private static boolean quantizedLeaky(Node n, QuantPlan plan) {
    return "LeakyRelu".equals(n.attributes().getString(Activation.FUSED, null)) && plan.pointOf(n.outputs().get(0)) != null
        && plan.excludedBy(n) == null;
  }

  /** The divisor the DPU uses for this pooling node, given its input shape (NCHW). */
  public static DpuAveragePool averagePool(Node n, int[] inShape) {
    int[] k = window(n, inShape);
    return DpuAveragePool.of(k[0], k[1]);
  }

  /** kh, kw: the kernel_shape, or the whole plane for GlobalAveragePool. */
  public static int[] window(Node n, int[] inShape) {
    if (n.opType().equals("GlobalAveragePool")) return new int[] {inShape[2], inShape[3]};
    long[] k = n.attributes().getInts("kernel_shape", null);
    return new int[] {(int) k[0], (int) k[1]};
  }

  private static Node with(Node n, Attributes a) {
    return new Node(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), a);
  }
}

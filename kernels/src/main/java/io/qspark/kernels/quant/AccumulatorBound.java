package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.ExactConv;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * When float arithmetic computes a quantized conv or fully connected layer exactly. Its inputs
 * are integers times powers of two, so a float sum of them is exact while every partial sum fits
 * the 24-bit significand: the layer's bound, max over output channels of sum |w_int| *
 * 2^(in_bits-1) plus the aligned |bias|, in the finest unit, must stay below 2^24 (LeakyReLU's
 * float multiply by 26/256 needs 4 more bits). Layers beyond it (ImageNet-size reductions) are
 * summed exactly in chunks instead ({@link ExactConv}), in the fake-quant model and the
 * simulator alike.
 */
public final class AccumulatorBound {
  /** Float accumulation is exact while every partial sum fits float's 24-bit significand. */
  public static final long FLOAT_EXACT = 1L << 24;

  private AccumulatorBound() {}

  /**
   * The bound in the finest unit: products shifted left when the bias is finer (shift_bias < 0).
   *
   * @param maxAbsRow max over output channels of sum |w_int|
   */
  public static long of(long maxAbsRow, int inBits, long maxAbsBias, int shiftBias, boolean leaky) {
    long maxX = 1L << (inBits - 1);
    long bound = shiftBias >= 0 ? maxAbsRow * maxX + (maxAbsBias << shiftBias) : (maxAbsRow * maxX << -shiftBias) + maxAbsBias;
    return leaky ? bound << 4 : bound;
  }

  /** Reduction steps per chunk whose products alone stay below 2^24, whatever the weights' order. */
  public static int chunk(int maxAbsWeight, int inBits) {
    long perStep = Math.max(1, (long) maxAbsWeight << (inBits - 1));
    return (int) Math.max(1, (FLOAT_EXACT - 1) / perStep);
  }

  /**
   * The fake-quant graph with each quantized Conv and Gemm beyond the bound marked for exact
   * chunked summation; others unchanged, so models within the bound run as fast as before.
   *
   * @param floatInits the layers' float weights and biases (before fake quantization)
   */
  static Graph markExact(Graph g, Map<String, Tensor> floatInits, QuantPlan plan, QuantParams params) {
    List<Node> nodes = new ArrayList<>();
    boolean changed = false;
    for (Node n : g.nodes()) {
      int chunk = chunkFor(n, floatInits, plan, params);
      Node r = chunk == 0 ? n
          : new Node(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), n.attributes().with(ExactConv.CHUNK, (long) chunk));
      changed |= r != n;
      nodes.add(r);
    }
    return changed ? g.withNodes(nodes, g.initializers()) : g;
  }

  /** 0 when the float sum is exact (or the layer is not a DPU-quantized one). */
  private static int chunkFor(Node n, Map<String, Tensor> inits, QuantPlan plan, QuantParams params) {
    boolean conv = n.opType().equals("Conv"), gemm = n.opType().equals("Gemm");
    if (!conv && !gemm || n.inputs().size() < 2) return 0;
    Tensor w = inits.get(n.input(1));
    ParamQuant wq = params.quantizers().get(n.input(1));
    String inPoint = plan.pointOf(n.input(0));
    FixPoint in = inPoint == null ? null : params.activation(inPoint);
    if (w == null || wq == null || wq.perChannel() || !wq.perTensor().powerOfTwo() || in == null || !in.powerOfTwo()) return 0;
    FixPoint wf = wq.perTensor();
    boolean transB = gemm && n.attributes().getInt("transB", 0) != 0;
    int m = conv || transB ? w.dim(0) : w.dim(1);
    int k = w.size() / m;
    long[] rows = new long[m];
    int maxAbs = 0;
    float[] d = w.data();
    for (int i = 0; i < d.length; i++) {
      int q = Math.abs(wf.quantize(d[i]));
      rows[conv || transB ? i / k : i % m] += q;
      maxAbs = Math.max(maxAbs, q);
    }
    long maxRow = 0;
    for (long r : rows) maxRow = Math.max(maxRow, r);
    long maxBias = 0;
    int sb = 0;
    if (n.hasInput(2)) {
      Tensor b = inits.get(n.input(2));
      ParamQuant bq = params.quantizers().get(n.input(2));
      if (b == null || bq == null || bq.perChannel() || !bq.perTensor().powerOfTwo()) return 0;
      sb = in.fixPoint() + wf.fixPoint() - bq.perTensor().fixPoint();
      for (float v : b.data()) maxBias = Math.max(maxBias, Math.abs((long) bq.perTensor().quantize(v)));
    }
    boolean leaky = "LeakyRelu".equals(n.attributes().getString(Activation.FUSED, null));
    if (of(maxRow, in.bits(), maxBias, sb, leaky) < FLOAT_EXACT) return 0;
    return chunk(maxAbs, in.bits());
  }
}

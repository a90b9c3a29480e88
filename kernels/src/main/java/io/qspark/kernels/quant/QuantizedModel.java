package io.qspark.kernels.quant;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fake-quant model: the inference graph with every weight and bias replaced by its
 * quantized value, run by the ordinary executor with an observer that fake-quantizes every
 * activation point. One executor for float and quantized: nothing to keep in sync. Where the
 * DPU computes differently from the float model (average pooling's divisor, LeakyReLU's slope),
 * the graph is first made to compute as the DPU does ({@link DpuGraph}), and layers whose float
 * sums could round are summed exactly ({@link AccumulatorBound}).
 */
public final class QuantizedModel {
  private final Graph graph;
  private final QuantPlan plan;
  private final QuantParams params;

  public QuantizedModel(Graph inferenceGraph, QuantPlan plan, QuantParams params) {
    this(inferenceGraph, plan, params, new FakeWeights());
  }

  /**
   * @param weights fake-quantized weights shared with other models of the same float graph (a
   *     sensitivity task's variants): each weight and quantizer once
   */
  public QuantizedModel(Graph inferenceGraph, QuantPlan plan, QuantParams params, FakeWeights weights) {
    this.plan = plan;
    this.params = params;
    Map<String, Tensor> inits = new LinkedHashMap<>(inferenceGraph.initializers());
    params.quantizers().forEach((name, q) -> inits.put(name, weights.get(name, q, inits.get(name))));
    Graph dpu = AccumulatorBound.markExact(DpuGraph.of(inferenceGraph, plan), inferenceGraph.initializers(), plan, params);
    this.graph = dpu.withNodes(dpu.nodes(), inits);
  }

  /** Fake-quantized weights by name and quantizer, for models of one float graph. Not thread-safe. */
  public static final class FakeWeights {
    private final Map<String, Map<ParamQuant, Tensor>> byName = new java.util.HashMap<>();

    Tensor get(String name, ParamQuant q, Tensor w) {
      return byName.computeIfAbsent(name, k -> new java.util.HashMap<>()).computeIfAbsent(q, k -> q.fake(w));
    }
  }

  public Graph graph() {
    return graph;
  }

  public QuantPlan plan() {
    return plan;
  }

  public QuantParams params() {
    return params;
  }

  /** Replaces each activation point's values by their fake-quantized values. */
  public TensorObserver fakeQuant() {
    return (node, name, value) -> {
      String pt = plan.pointOf(name);
      if (pt == null || !value.isFloat()) return value;
      FixPoint q = params.activation(pt);
      if (q == null) return value; // not decided yet (sequential calibration)
      float[] out = new float[value.size()];
      FakeQuant.apply(q, value.data(), out, 0, out.length);
      return Tensor.of(out, value.shape());
    };
  }

  /** Quantized outputs for one batch. */
  public Map<String, Tensor> run(Executor ex, Map<String, Tensor> feeds) {
    return ex.run(feeds, fakeQuant());
  }

  public Executor executor(int threads) {
    return new Executor(graph, threads);
  }
}

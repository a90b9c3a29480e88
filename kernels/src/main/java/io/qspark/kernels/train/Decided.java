package io.qspark.kernels.train;

import io.qspark.kernels.quant.FakeQuant;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.tensor.Tensor;
import java.util.Map;

/**
 * The quantized model as fine-tuning has decided it so far: tuned float weights by
 * initializer name (the rest as in the graph) and the fix_points. Small; broadcast per layer.
 */
public record Decided(Map<String, float[]> weights, QuantParams params) implements java.io.Serializable {
  public Decided {
    weights = Map.copyOf(weights);
  }

  /** An initializer as the quantized model reads it: tuned if tuned, fake-quantized if it has a fix_point. */
  Tensor initializer(ShardContext ctx, String name) {
    Tensor t = ctx.graph.initializers().get(name);
    float[] w = weights.get(name);
    FixPoint q = params.params().get(name);
    if (w == null && q == null) return t;
    float[] v = w != null ? w : t.data();
    if (q != null) {
      float[] out = new float[v.length];
      FakeQuant.apply(q, v, out, 0, out.length);
      v = out;
    }
    return Tensor.of(v, t.shape());
  }
}

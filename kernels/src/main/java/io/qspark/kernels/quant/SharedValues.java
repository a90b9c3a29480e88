package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Which values two fake-quant models of one plan compute alike. Sensitivity analysis scores tens
 * of variants of a calibration that each differ from a base (nothing quantized, or everything)
 * in one point; a variant then computes every value upstream of that point exactly as the base
 * does, so it takes those from the base's run and computes the rest ({@link
 * io.qspark.kernels.exec.Executor#run(Map, io.qspark.kernels.exec.TensorObserver, Map)}).
 *
 * <p>Invariant: with one plan, the fake-quant graphs of two decisions have the same nodes
 * ({@link DpuGraph} depends on the plan only), and a node's output is the same in both when its
 * inputs are, its weights' and bias's quantizers are equal (and with them {@link
 * AccumulatorBound}'s marking, which reads only those and its input's fix_point), and its output's
 * activation point has the same fix_point (or none in both).
 */
public final class SharedValues {
  private SharedValues() {}

  /**
   * The graph inputs and node outputs whose values may differ between {@code base} and {@code
   * variant}, decisions of the same {@code plan}, in the fake-quant graph {@code g}.
   */
  public static Set<String> changed(Graph g, QuantPlan plan, QuantParams base, QuantParams variant) {
    Set<String> changed = new HashSet<>();
    for (ValueInfo in : g.inputs()) {
      if (activationDiffers(in.name(), plan, base, variant)) changed.add(in.name());
    }
    for (Node n : g.nodes()) {
      boolean dirty = false;
      for (String in : n.inputs()) {
        dirty |= changed.contains(in)
            || g.initializers().containsKey(in) && !Objects.equals(base.quantizers().get(in), variant.quantizers().get(in));
      }
      for (String out : n.outputs()) {
        if (!out.isEmpty() && (dirty || activationDiffers(out, plan, base, variant))) changed.add(out);
      }
    }
    return changed;
  }

  /** The base run's values ({@code keepAll}) that the variant computes alike. */
  public static Map<String, Tensor> reusable(Map<String, Tensor> baseValues, Set<String> changed) {
    Map<String, Tensor> r = new HashMap<>();
    baseValues.forEach((k, v) -> {
      if (!changed.contains(k)) r.put(k, v);
    });
    return r;
  }

  private static boolean activationDiffers(String value, QuantPlan plan, QuantParams base, QuantParams variant) {
    String pt = plan.pointOf(value);
    return pt != null && !Objects.equals(base.activation(pt), variant.activation(pt));
  }
}

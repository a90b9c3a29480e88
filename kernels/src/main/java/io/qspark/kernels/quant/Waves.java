package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order of sequential calibration: activation points grouped so that every point's inputs
 * come from points of earlier groups. Calibrating group k on a model whose groups before k are
 * already quantized lets each layer's fix_point see the error its quantized inputs carry; one
 * data pass per group.
 */
public final class Waves {
  private Waves() {}

  public static List<Set<String>> of(Graph g, QuantPlan plan) {
    Map<String, Integer> level = new HashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      int l = 0;
      for (String member : a.members()) {
        Node p = g.producer(member);
        if (p == null) continue;
        for (String in : p.inputs()) {
          String up = plan.pointOf(in);
          if (up != null && !up.equals(a.name()) && level.containsKey(up)) l = Math.max(l, level.get(up) + 1);
        }
      }
      level.put(a.name(), l);
    }
    List<Set<String>> waves = new ArrayList<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      int l = level.get(a.name());
      while (waves.size() <= l) waves.add(new LinkedHashSet<>());
      waves.get(l).add(a.name());
    }
    return waves;
  }
}

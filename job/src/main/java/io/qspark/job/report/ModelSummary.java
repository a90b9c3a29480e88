package io.qspark.job.report;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Op;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What `inspect` reports about a model: each node in topological order with its output shapes,
 * parameters and multiply-accumulates for one image, and totals. Computed once, rendered as a
 * table or JSON.
 */
public record ModelSummary(Model model, List<NodeRow> nodes, long parameters, long macs,
    Map<String, Integer> opCounts) {

  /** A value and its shape (-1 for the batch). */
  public record Value(String name, int[] shape) {}

  public record NodeRow(int index, String name, String op, List<Value> outputs, String attributes,
      List<Value> weights, long macs) {}

  public static ModelSummary of(Model model) {
    Graph g = model.graph();
    List<NodeRow> rows = new ArrayList<>();
    Set<String> weightsSeen = new LinkedHashSet<>();
    Map<String, Integer> ops = new LinkedHashMap<>();
    long params = 0;
    long macs = 0;
    int i = 0;
    for (Node n : g.nodes()) {
      Op op = OpRegistry.create(n);
      List<Value> weights = new ArrayList<>();
      for (String in : n.inputs()) {
        Tensor t = in.isEmpty() ? null : g.initializers().get(in);
        // int64 initializers are shapes and axes, not parameters
        if (t == null || !t.isFloat()) continue;
        weights.add(new Value(in, t.shape()));
        if (weightsSeen.add(in)) params += t.size();
      }
      List<Value> outs = new ArrayList<>();
      for (String o : n.outputs()) if (!o.isEmpty()) outs.add(new Value(o, model.shape(o)));
      long m = op.macs(atBatch1(model, n.inputs()), atBatch1(model, n.outputs()));
      macs += m;
      ops.merge(n.opType(), 1, Integer::sum);
      rows.add(new NodeRow(i++, n.name().isEmpty() ? n.outputs().get(0) : n.name(), n.opType(), outs,
          op.describe(), weights, m));
    }
    return new ModelSummary(model, rows, params, macs, ops);
  }

  private static int[][] atBatch1(Model model, List<String> values) {
    int[][] s = new int[values.size()][];
    for (int i = 0; i < s.length; i++) {
      String v = values.get(i);
      if (v.isEmpty() || !model.shapes().containsKey(v)) {
        s[i] = new int[0];
        continue;
      }
      s[i] = model.shape(v);
      for (int d = 0; d < s[i].length; d++) if (s[i][d] < 0) s[i][d] = 1;
    }
    return s;
  }
}

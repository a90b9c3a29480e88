package io.qspark.job.report;

import io.qspark.job.report.ModelSummary.NodeRow;
import io.qspark.job.report.ModelSummary.Value;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.tensor.Tensor;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** Renders a {@link ModelSummary} as the `inspect` table or its JSON twin (same facts, same order). */
public final class InspectReport {
  private InspectReport() {}

  public static void text(ModelSummary s, PrintWriter out) {
    var m = s.model();
    TextTable.keyValues(out, new String[][] {
        {"model", m.source()},
        {"format", m.format() + ", sha256 " + m.sha256()},
        {"inputs", m.graph().inputs().stream().map(v -> v.name() + " " + Tensor.shapeString(m.shape(v.name())))
            .collect(Collectors.joining(", "))},
        {"outputs", m.graph().outputs().stream().map(o -> o + " " + Tensor.shapeString(m.shape(o)))
            .collect(Collectors.joining(", "))}});
    out.println();
    TextTable t = new TextTable("#>", "name", "op", "output", "parameters", "MACs/image>");
    for (NodeRow r : s.nodes()) {
      String outs = r.outputs().stream().map(v -> Tensor.shapeString(v.shape())).collect(Collectors.joining(" "));
      List<String> params = new ArrayList<>();
      if (!r.attributes().isEmpty()) params.add(r.attributes());
      // weight names are long and in the JSON; the table shows their shapes
      for (Value w : r.weights()) params.add(Tensor.shapeString(w.shape()));
      t.row(r.index(), r.name(), r.op(), outs, String.join(" ", params), count(r.macs()));
    }
    t.print(out);
    out.println();
    TextTable.keyValues(out, new String[][] {
        {"nodes", count(s.nodes().size())},
        {"parameters", count(s.parameters())},
        {"MACs/image", count(s.macs())},
        {"op types", s.opCounts().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", "))}});
  }

  public static String json(ModelSummary s) {
    var m = s.model();
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("model", m.source());
    root.put("format", m.format());
    root.put("sha256", m.sha256());
    List<Object> inputs = new ArrayList<>();
    for (ValueInfo v : m.graph().inputs()) inputs.add(value(v.name(), m.shape(v.name())));
    root.put("inputs", inputs);
    List<Object> outputs = new ArrayList<>();
    for (String o : m.graph().outputs()) outputs.add(value(o, m.shape(o)));
    root.put("outputs", outputs);
    List<Object> nodes = new ArrayList<>();
    for (NodeRow r : s.nodes()) {
      Map<String, Object> n = new LinkedHashMap<>();
      n.put("index", r.index());
      n.put("name", r.name());
      n.put("op", r.op());
      n.put("outputs", r.outputs().stream().map(v -> value(v.name(), v.shape())).collect(Collectors.toList()));
      n.put("attributes", r.attributes());
      n.put("weights", r.weights().stream().map(v -> value(v.name(), v.shape())).collect(Collectors.toList()));
      n.put("macs", r.macs());
      nodes.add(n);
    }
    root.put("nodes", nodes);
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("nodes", s.nodes().size());
    totals.put("parameters", s.parameters());
    totals.put("macs", s.macs());
    totals.put("op_types", new LinkedHashMap<>(s.opCounts()));
    root.put("totals", totals);
    return Json.write(root);
  }

  /** Shapes keep -1 for the batch in JSON, as in the IR; the table shows N. */
  private static Map<String, Object> value(String name, int[] shape) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("name", name);
    v.put("shape", shape);
    return v;
  }

  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }
}

package io.qspark.job.report;

import io.qspark.job.report.ModelSummary.NodeRow;
import io.qspark.job.report.ModelSummary.Value;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.tensor.Tensor;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Renders a {@link ModelSummary} as the `inspect` table or its JSON twin (same facts, same order),
 * with where each node runs on a DPU target when a {@link Partition} is given.
 */
public final class InspectReport {
  private InspectReport() {}

  public static void text(ModelSummary s, PrintWriter out) {
    text(s, null, out);
  }

  /** @param p the partition of the summary's (inference) graph, or null */
  public static void text(ModelSummary s, Partition p, PrintWriter out) {
    var m = s.model();
    List<String[]> header = new ArrayList<>(List.of(new String[][] {
        {"model", m.source()},
        {"format", m.format() + ", sha256 " + m.sha256()},
        {"inputs", m.graph().inputs().stream().map(v -> v.name() + " " + Tensor.shapeString(m.shape(v.name())))
            .collect(Collectors.joining(", "))},
        {"outputs", m.graph().outputs().stream().map(o -> o + " " + Tensor.shapeString(m.shape(o)))
            .collect(Collectors.joining(", "))},
        {"batch", m.batch().describe()}}));
    if (p != null) {
      header.add(new String[] {"graph", "inference (BatchNorm folded, activations fused)"});
      header.add(new String[] {"target", targetLine(p.target())});
    }
    TextTable.keyValues(out, header.toArray(new String[0][]));
    out.println();
    TextTable t = p == null ? new TextTable("#>", "name", "op", "output", "parameters", "MACs/image>")
        : new TextTable("#>", "name", "op", "output", "parameters", "MACs/image>", "unit", "reason");
    for (NodeRow r : s.nodes()) {
      String outs = r.outputs().stream().map(v -> Tensor.shapeString(v.shape())).collect(Collectors.joining(" "));
      List<String> params = new ArrayList<>();
      if (!r.attributes().isEmpty()) params.add(r.attributes());
      // weight names are long and in the JSON; the table shows their shapes
      for (Value w : r.weights()) params.add(Tensor.shapeString(w.shape()));
      if (p == null) {
        t.row(r.index(), r.name(), r.op(), outs, String.join(" ", params), count(r.macs()));
      } else {
        Partition.Placement pl = p.placements().get(r.index());
        t.row(r.index(), r.name(), r.op(), outs, String.join(" ", params), count(r.macs()), unit(p, pl), pl.reason());
      }
    }
    t.print(out);
    out.println();
    TextTable.keyValues(out, new String[][] {
        {"nodes", count(s.nodes().size())},
        {"parameters", count(s.parameters())},
        {"MACs/image", count(s.macs())},
        {"op types", s.opCounts().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
            .collect(Collectors.joining(", "))}});
    if (p == null) return;
    out.println();
    long dpuMacs = 0;
    for (NodeRow r : s.nodes()) if (p.placements().get(r.index()).dpu()) dpuMacs += r.macs();
    TextTable.keyValues(out, new String[][] {
        {"on DPU", p.dpuNodes() + " of " + s.nodes().size() + " nodes, " + percent(dpuMacs, s.macs()) + " of MACs"},
        {"subgraphs", p.subgraphs().size() + " on the DPU"},
        {"transitions", p.transitions() + " (" + p.dpuToCpu() + " DPU->CPU, " + p.cpuToDpu() + " CPU->DPU)"}});
    if (p.subgraphs().isEmpty()) return;
    out.println();
    TextTable g = new TextTable("subgraph", "nodes>", "first", "last", "inputs", "outputs");
    for (Partition.Subgraph sg : p.subgraphs()) {
      g.row(sg.name(), sg.nodes().size(), sg.nodes().get(0), sg.nodes().get(sg.nodes().size() - 1),
          String.join(" ", sg.inputs()), String.join(" ", sg.outputs()));
    }
    g.print(out);
  }

  private static String unit(Partition p, Partition.Placement pl) {
    return pl.dpu() ? p.subgraphs().get(pl.subgraph()).name() : "CPU";
  }

  private static String targetLine(DpuTarget t) {
    return t.name() + (t.description().isEmpty() ? "" : ", " + t.description()) + " (" + t.file() + ")";
  }

  private static String percent(long part, long whole) {
    return whole == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
  }

  public static String json(ModelSummary s) {
    return json(s, null);
  }

  /** @param p the partition of the summary's (inference) graph, or null */
  public static String json(ModelSummary s, Partition p) {
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
    Map<String, Object> batch = new LinkedHashMap<>();
    batch.put("mode", m.batch().key());
    batch.put("exported", m.batch().size() > 0 ? m.batch().size() : null);
    root.put("batch", batch);
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
      if (p != null) {
        Partition.Placement pl = p.placements().get(r.index());
        n.put("unit", pl.dpu() ? "DPU" : "CPU");
        n.put("subgraph", pl.dpu() ? p.subgraphs().get(pl.subgraph()).name() : null);
        n.put("dpu_op", pl.opClass() == null ? null : pl.opClass().key());
        n.put("reason", pl.reason());
      }
      nodes.add(n);
    }
    root.put("nodes", nodes);
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("nodes", s.nodes().size());
    totals.put("parameters", s.parameters());
    totals.put("macs", s.macs());
    totals.put("op_types", new LinkedHashMap<>(s.opCounts()));
    root.put("totals", totals);
    if (p != null) root.put("partition", partition(p));
    return Json.write(root);
  }

  static Map<String, Object> partition(Partition p) {
    Map<String, Object> r = new LinkedHashMap<>();
    DpuTarget t = p.target();
    Map<String, Object> target = new LinkedHashMap<>();
    target.put("name", t.name());
    target.put("description", t.description());
    target.put("file", t.file());
    r.put("target", target);
    r.put("graph", "inference");
    r.put("dpu_nodes", p.dpuNodes());
    r.put("cpu_nodes", p.placements().size() - p.dpuNodes());
    r.put("transitions", p.transitions());
    r.put("dpu_to_cpu", p.dpuToCpu());
    r.put("cpu_to_dpu", p.cpuToDpu());
    List<Object> subgraphs = new ArrayList<>();
    for (Partition.Subgraph sg : p.subgraphs()) {
      Map<String, Object> g = new LinkedHashMap<>();
      g.put("name", sg.name());
      g.put("nodes", sg.nodes());
      g.put("inputs", sg.inputs());
      g.put("outputs", sg.outputs());
      subgraphs.add(g);
    }
    r.put("subgraphs", subgraphs);
    return r;
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

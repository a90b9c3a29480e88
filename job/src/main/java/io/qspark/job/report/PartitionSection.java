package io.qspark.job.report;

import io.qspark.dpu.DeployCompiler;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.target.Partitioner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where an inference graph's nodes run on a DPU target, for report.json: inspect --target's
 * partition summary plus, per node, its unit and the reason.
 */
public final class PartitionSection {
  /** The target reports judge against: the DPUCZDX8G B4096 that deploy's limits follow. */
  public static final String DEFAULT_TARGET = "b4096";

  private PartitionSection() {}

  public static Map<String, Object> of(Graph inferenceGraph) {
    return of(Partitioner.partition(inferenceGraph, DpuTarget.resolve(DEFAULT_TARGET)));
  }

  /** On the default target, with the nodes a calibration's layer rules keep in float on the CPU. */
  public static Map<String, Object> of(Graph inferenceGraph, QuantConfig cfg) {
    return of(DeployCompiler.partition(inferenceGraph, cfg, DpuTarget.resolve(DEFAULT_TARGET)));
  }

  public static Map<String, Object> of(Partition p) {
    Map<String, Object> r = InspectReport.partition(p);
    List<Object> nodes = new ArrayList<>();
    for (Partition.Placement pl : p.placements()) {
      Map<String, Object> n = new LinkedHashMap<>();
      n.put("name", pl.name());
      n.put("op", pl.node().opType());
      n.put("unit", pl.dpu() ? "DPU" : "CPU");
      n.put("reason", pl.reason());
      nodes.add(n);
    }
    r.put("nodes", nodes);
    return r;
  }
}

package io.qspark.dpu;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Value;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** deploy_model.txt: one line per layer with its fix_points and shifts, for people. */
public final class DeploySummary {
  private DeploySummary() {}

  public static String text(DeployModel m) {
    Map<String, Value> vs = new HashMap<>();
    for (Value v : m.getValuesList()) vs.put(v.getName(), v);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "qspark deploy model, format version %d, %d layers, source sha256 %s%n",
        m.getFormatVersion(), m.getLayersCount(), m.getSourceSha256()));
    sb.append(String.format(Locale.ROOT, "%-28s %-11s %-6s %-6s %-5s %-5s %-6s %-6s %-10s %s%n", "layer", "op", "in_fp",
        "out_fp", "w_fp", "b_fp", "s_bias", "s_cut", "act", "other"));
    for (Layer l : m.getLayersList()) {
      Value out = vs.get(l.getOutput());
      Value in = l.getInputsCount() == 0 ? null : vs.get(l.getInputs(0));
      boolean weighted = l.getWeightShapeCount() > 0;
      String other = switch (l.getOp()) {
        case AVG_POOL -> "sum * " + l.getMultiplier() + " >> " + l.getAvgShift();
        case ELTWISE_ADD -> "input shifts " + l.getInputShiftsList() + ", output shift " + l.getOutputShift();
        case CONV, FC -> "accumulator bound " + l.getAccumulatorBound() + (l.getHasBias() && l.getBiasBits() > 0 ? ", "
            + l.getBiasBits() + "-bit bias" : "");
        case CPU -> "float " + cpuOps(l) + ", inputs dequantized" + (out.getInteger() ? ", output quantized" : "");
        default -> "";
      };
      sb.append(String.format(Locale.ROOT, "%-28s %-11s %-6s %-6s %-5s %-5s %-6s %-6s %-10s %s%n", l.getName(), l.getOp(),
          in != null && in.getInteger() ? in.getFixPoint() : "-", out.getInteger() ? out.getFixPoint() : "-",
          weighted ? l.getWeightFixPoint() : "-", weighted && l.getHasBias() ? l.getBiasFixPoint() : "-",
          weighted && l.getHasBias() ? l.getShiftBias() : "-", weighted ? l.getShiftCut() : "-",
          weighted ? l.getActivation() : "-", other));
    }
    return sb.toString();
  }

  /** The op types of a CPU layer's embedded model. */
  private static String cpuOps(Layer l) {
    try {
      var g = io.qspark.kernels.onnx.proto.OnnxProto.ModelProto.parseFrom(l.getOnnxModel()).getGraph();
      return g.getNodeList().stream().map(n -> n.getOpType()).collect(java.util.stream.Collectors.joining(", "));
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "(unreadable model)";
    }
  }
}

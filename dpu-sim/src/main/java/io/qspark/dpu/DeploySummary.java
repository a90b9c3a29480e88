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
    if (m.getBatchChunk() > 0) {
      sb.append(String.format(Locale.ROOT, "runs in chunks of %d images (a fixed-batch export whose graph mixes its images)%n",
          m.getBatchChunk()));
    }
    // the name column as wide as the longest name, so long exported names keep the columns aligned
    int width = "layer".length();
    for (Layer l : m.getLayersList()) width = Math.max(width, l.getName().length());
    String row = "%-" + width + "s %-11s %-6s %-6s %-5s %-5s %-6s %-6s %-10s %s%n";
    sb.append(String.format(Locale.ROOT, row, "layer", "op", "in_fp",
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
        case ELTWISE_MUL -> "product >> " + l.getOutputShift();
        case CPU -> "float " + cpuOps(l) + ", inputs dequantized" + (out.getInteger() ? ", output quantized" : "")
            + (l.getExtraOutputsCount() > 0 ? ", also writes " + String.join(", ", l.getExtraOutputsList()) : "");
        default -> "";
      };
      sb.append(String.format(Locale.ROOT, row, l.getName(), l.getOp(),
          in != null && in.getInteger() ? in.getFixPoint() : "-", out.getInteger() ? out.getFixPoint() : "-",
          weighted ? l.getWeightFixPoint() : "-", weighted && l.getHasBias() ? l.getBiasFixPoint() : "-",
          weighted && l.getHasBias() ? l.getShiftBias() : "-", weighted ? l.getShiftCut() : "-",
          weighted ? l.getActivation() : "-", other));
    }
    return sb.toString();
  }

  /** The op types of a CPU layer's embedded model. */
  static String cpuOps(Layer l) {
    try {
      var g = io.qspark.kernels.onnx.proto.OnnxProto.ModelProto.parseFrom(l.getOnnxModel()).getGraph();
      return g.getNodeList().stream().map(n -> n.getOpType()).collect(java.util.stream.Collectors.joining(", "));
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "(unreadable model)";
    }
  }
}

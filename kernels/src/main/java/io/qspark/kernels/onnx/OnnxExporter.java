package io.qspark.kernels.onnx;

import com.google.protobuf.ByteString;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.onnx.proto.OnnxProto.AttributeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.qspark.kernels.onnx.proto.OnnxProto.StringStringEntryProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorShapeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TypeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link Graph} as an ONNX model. Activations fused into a Conv/Gemm become their own
 * node again (ONNX has no fused form); reserved attributes ("__" prefix) are dropped.
 */
public final class OnnxExporter {
  public static final long IR_VERSION = 8;

  private OnnxExporter() {}

  /**
   * @param typed initializers to write as given instead of encoding the graph's tensor (for
   *     integer types the graph's tensors do not carry, e.g. int8 zero points)
   */
  public static ModelProto export(Graph g, long opset, Map<String, TensorProto> typed,
      Map<String, String> metadata, List<NodeProto> extraNodesFirst) {
    return export(g, opset, typed, metadata, extraNodesFirst, false);
  }

  /**
   * The graph with every node as qspark holds it, fused activations and reserved attributes
   * included: a model for qspark's own executor (a deploy model's CPU layers), which other
   * runtimes would not read as intended.
   */
  public static ModelProto exportVerbatim(Graph g, long opset) {
    return export(g, opset, Map.of(), Map.of(), List.of(), true);
  }

  private static ModelProto export(Graph g, long opset, Map<String, TensorProto> typed,
      Map<String, String> metadata, List<NodeProto> extraNodesFirst, boolean verbatim) {
    GraphProto.Builder gb = GraphProto.newBuilder().setName(g.name());
    for (ValueInfo in : g.inputs()) gb.addInput(valueInfo(in.name(), in.shape()));
    for (String out : g.outputs()) gb.addOutput(valueInfo(out, null));
    // verbatim models are read by qspark only, which takes every opset's form; others get the
    // form the written opset defines, with the constants that takes
    Map<String, Tensor> inits = new java.util.LinkedHashMap<>(g.initializers());
    List<Node> nodes = new java.util.ArrayList<>();
    for (Node n : g.nodes()) nodes.addAll(verbatim ? List.of(n) : OpsetForms.at(n, opset, inits));
    inits.forEach((name, t) -> gb.addInitializer(typed.containsKey(name) ? typed.get(name) : OnnxTensors.encode(name, t)));
    typed.forEach((name, t) -> {
      if (!inits.containsKey(name)) gb.addInitializer(t);
    });
    gb.addAllNode(extraNodesFirst);
    for (Node n : nodes) {
      if (verbatim) {
        gb.addNode(verbatimNode(n));
      } else {
        addNode(gb, n, opset);
      }
    }
    ModelProto.Builder mb = ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .setProducerName("qspark")
        .setProducerVersion(OnnxExporter.class.getPackage().getImplementationVersion() == null
            ? "dev" : OnnxExporter.class.getPackage().getImplementationVersion())
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
        .setGraph(gb);
    metadata.forEach((k, v) -> mb.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
    return mb.build();
  }

  private static NodeProto verbatimNode(Node n) {
    NodeProto.Builder nb = NodeProto.newBuilder().setName(n.name()).setOpType(n.opType()).addAllInput(n.inputs())
        .addAllOutput(n.outputs());
    if (!n.domain().isEmpty()) nb.setDomain(n.domain());
    n.attributes().asMap().forEach((k, v) -> nb.addAttribute(attribute(k, v)));
    return nb.build();
  }

  private static void addNode(GraphProto.Builder gb, Node n, long opset) {
    if (OpRegistry.isSilu(n) || n.opType().equals("HardSwish") && n.domain().isEmpty() && opset < 14) {
      gatedActivation(gb, n);
      return;
    }
    Activation act = Activation.fused(n.attributes());
    String out = n.outputs().get(0);
    String pre = act == null ? out : out + "__preact";
    NodeProto.Builder nb = NodeProto.newBuilder().setName(n.name()).setOpType(n.opType())
        .addAllInput(n.inputs());
    for (int i = 0; i < n.outputs().size(); i++) nb.addOutput(i == 0 ? pre : n.outputs().get(i));
    if (!n.domain().isEmpty()) nb.setDomain(n.domain());
    n.attributes().asMap().forEach((k, v) -> {
      if (k.startsWith("__") || k.startsWith(Activation.FUSED)) return;
      nb.addAttribute(attribute(k, v));
    });
    gb.addNode(nb);
    if (act != null) gb.addNode(activationNode(act, n.name() + "/" + act.opType(), pre, out, gb));
  }

  /**
   * SiLU (no ONNX op) and HardSwish below opset 14 as the Sigmoid·Mul and HardSigmoid·Mul the
   * exporters wrote and the importer recognized (passes.GatedActivations): the same floats.
   */
  private static void gatedActivation(GraphProto.Builder gb, Node n) {
    String name = n.name().isEmpty() ? n.outputs().get(0) : n.name();
    String gate = name + "/gate";
    NodeProto.Builder g = NodeProto.newBuilder().setName(gate).addInput(n.input(0)).addOutput(gate);
    if (OpRegistry.isSilu(n)) {
      g.setOpType("Sigmoid");
    } else {
      g.setOpType("HardSigmoid").addAttribute(attribute("alpha", 1f / 6)).addAttribute(attribute("beta", 0.5f));
    }
    gb.addNode(g);
    gb.addNode(NodeProto.newBuilder().setName(name).setOpType("Mul").addInput(n.input(0)).addInput(gate)
        .addOutput(n.outputs().get(0)));
  }

  /** A fused activation as its own ONNX node; Clip's bounds become initializers. */
  private static NodeProto activationNode(Activation act, String name, String in, String out, GraphProto.Builder gb) {
    NodeProto.Builder nb = NodeProto.newBuilder().setName(name).setOpType(act.opType()).addInput(in).addOutput(out);
    if (act.kind() == Activation.Kind.LEAKY_RELU) nb.addAttribute(attribute("alpha", act.alpha()));
    if (act.kind() == Activation.Kind.CLIP) {
      gb.addInitializer(OnnxTensors.encode(name + "/min", Tensor.scalar(act.lo())));
      gb.addInitializer(OnnxTensors.encode(name + "/max", Tensor.scalar(act.hi())));
      nb.addInput(name + "/min").addInput(name + "/max");
    }
    return nb.build();
  }

  static ValueInfoProto valueInfo(String name, int[] shape) {
    TypeProto.Tensor.Builder tt = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE);
    if (shape != null) {
      TensorShapeProto.Builder sb = TensorShapeProto.newBuilder();
      for (int d : shape) {
        sb.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
            : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
      }
      tt.setShape(sb);
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(tt)).build();
  }

  static AttributeProto attribute(String name, Object v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
    if (v instanceof Long l) {
      a.setType(AttributeProto.AttributeType.INT).setI(l);
    } else if (v instanceof Integer i) {
      a.setType(AttributeProto.AttributeType.INT).setI(i);
    } else if (v instanceof Float f) {
      a.setType(AttributeProto.AttributeType.FLOAT).setF(f);
    } else if (v instanceof String s) {
      a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
    } else if (v instanceof long[] ls) {
      a.setType(AttributeProto.AttributeType.INTS);
      for (long x : ls) a.addInts(x);
    } else if (v instanceof float[] fs) {
      a.setType(AttributeProto.AttributeType.FLOATS);
      for (float x : fs) a.addFloats(x);
    } else if (v instanceof String[] ss) {
      a.setType(AttributeProto.AttributeType.STRINGS);
      for (String x : ss) a.addStrings(ByteString.copyFromUtf8(x));
    } else if (v instanceof Tensor t) {
      a.setType(AttributeProto.AttributeType.TENSOR).setT(OnnxTensors.encode("", t));
    } else {
      throw new IllegalArgumentException("attribute " + name + " of type " + v.getClass().getSimpleName() + " cannot be written to ONNX");
    }
    return a.build();
  }

  /** A scalar or 1-D initializer of an integer type ONNX needs but {@link Tensor} does not carry. */
  public static TensorProto int8(String name, int value, boolean signed) {
    return TensorProto.newBuilder().setName(name)
        .setDataType(signed ? TensorProto.DataType.INT8_VALUE : TensorProto.DataType.UINT8_VALUE)
        .setRawData(ByteString.copyFrom(new byte[] {(byte) value})).build();
  }
}

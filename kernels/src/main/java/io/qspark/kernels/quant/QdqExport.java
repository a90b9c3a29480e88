package io.qspark.kernels.quant;

import com.google.protobuf.ByteString;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.onnx.OnnxExporter;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The quantized model as standard ONNX QDQ: QuantizeLinear/DequantizeLinear pairs (scale
 * 2^-fix_point, zero point 0, int8) at every quantization point, int8 weights and biases behind
 * a DequantizeLinear. Any ONNX runtime runs it; Netron shows each point's fix_point and width
 * in the Q/DQ node names and doc strings. Below 8 bits a Clip after the DequantizeLinear
 * narrows the range, since QuantizeLinear saturates at int8 only; points wider than 8 bits
 * cannot be expressed at this opset and stay float. Unsigned points use uint8.
 *
 * <p>QuantizeLinear rounds half to even where the DPU rounds half up, and exact ties are common
 * here: a conv's output sits on the finer grid of its input and weight steps, so about one value
 * in 2^shift_cut lies exactly halfway. Points with DPU rounding therefore add 2^-12 of a step
 * before QuantizeLinear, which turns every tie into a round-up and moves no other value of a
 * grid down to 2^-12 of a step (shift_cut up to 12) across a boundary.
 *
 * <p>Non-DPU calibrations export the same way: float scales as they are, per-channel weights
 * (and their int32 biases, step s_in * s_w) with a 1-D scale along DequantizeLinear's axis.
 */
public final class QdqExport {
  /** The tie nudge, in bits below one step. */
  static final int TIE_BITS = 12;

  private QdqExport() {}

  public static ModelProto export(QuantizedModel qm, Graph floatGraph, long opset) {
    QuantPlan plan = qm.plan();
    Graph g = DpuGraph.forOnnx(floatGraph, plan);
    QuantParams params = qm.params();
    Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
    Map<String, TensorProto> typed = new LinkedHashMap<>();
    Map<String, String> meta = new LinkedHashMap<>();
    List<Node> nodes = new ArrayList<>();
    // weights and biases: int8 integers dequantized on load
    Map<String, String> paramRename = new LinkedHashMap<>();
    List<Node> paramNodes = new ArrayList<>();
    params.quantizers().forEach((name, q) -> {
      // wider than int8 (but ONNX's int32 biases): left as fake-quantized floats
      if (q.bits() > 8 && q.bits() != 32) return;
      Tensor t = g.initializers().get(name);
      String qName = name + "/int" + q.bits();
      typed.put(qName, integers(qName, q.quantize(t), q.bits(), t.shape()));
      inits.put(qName, placeholder());
      inits.remove(name);
      String deq = name + "/dequantized";
      paramNodes.add(dq(name + "/DequantizeLinear", qName, deq, q, inits, typed));
      paramRename.put(name, deq);
      meta.put(metaKey(q.channel(0)) + name, value(q));
    });
    nodes.addAll(paramNodes);
    // activations: after each value that makes new numbers (not after reshapes and the like)
    Set<String> quantizeAfter = new HashSet<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      for (String v : a.members()) {
        Node p = g.producer(v);
        // QuantizeLinear is 8-bit at this opset: wider points stay float in the QDQ model
        if (params.activation(a.name()).bits() > 8) continue;
        if (p == null || !QuantPlan.PASS_THROUGH.contains(p.opType())) quantizeAfter.add(v);
      }
    }
    Map<String, String> inputRename = new LinkedHashMap<>();
    for (String in : g.inputs().stream().map(i -> i.name()).toList()) {
      if (!quantizeAfter.contains(in)) continue;
      String out = in + "/quantized";
      nodes.addAll(qdq(in, out, params.activation(plan.pointOf(in)), inits, typed, meta));
      inputRename.put(in, out);
    }
    for (Node n : g.nodes()) {
      List<String> ins = new ArrayList<>();
      for (String i : n.inputs()) ins.add(paramRename.getOrDefault(i, inputRename.getOrDefault(i, i)));
      List<String> outs = new ArrayList<>();
      List<Node> after = new ArrayList<>();
      for (String o : n.outputs()) {
        if (!o.isEmpty() && quantizeAfter.contains(o)) {
          outs.add(o + "/float");
          after.addAll(qdq(o + "/float", o, params.activation(plan.pointOf(o)), inits, typed, meta));
        } else {
          outs.add(o);
        }
      }
      nodes.add(new Node(n.name(), n.opType(), n.domain(), ins, outs, n.attributes()));
      nodes.addAll(after);
    }
    Graph out = new Graph(g.name(), g.inputs(), g.outputs(), inits, nodes);
    return OnnxExporter.export(out, Math.max(opset, 13), typed, meta, List.of());
  }

  private static List<Node> qdq(String in, String out, FixPoint q, Map<String, Tensor> inits,
      Map<String, TensorProto> typed, Map<String, String> meta) {
    String base = in.endsWith("/float") ? in.substring(0, in.length() - 6) : in;
    String tag = tag(ParamQuant.of(q));
    String scale = base + "/scale";
    inits.put(scale, Tensor.scalar(q.step()));
    String zp = base + "/zero_point";
    typed.put(zp, OnnxExporter.int8(zp, 0, q.signed()));
    inits.put(zp, placeholder());
    String qv = base + "/int8";
    List<Node> r = new ArrayList<>();
    String qIn = in;
    // float steps put no values on a grid: ties are rare, and a nudge would move every value
    // within 2^-12 of a step below a boundary
    if (q.rounding() == Rounding.HALF_UP && q.powerOfTwo()) {
      String nudge = base + "/tie_to_up";
      inits.put(nudge, Tensor.scalar(Math.scalb(q.step(), -TIE_BITS)));
      qIn = base + "/nudged";
      r.add(new Node(base + "/RoundHalfUp", "Add", List.of(in, nudge), List.of(qIn), Attributes.empty()));
    }
    r.add(new Node(base + "/QuantizeLinear" + tag, "QuantizeLinear", List.of(qIn, scale, zp), List.of(qv), Attributes.empty()));
    boolean narrow = q.bits() < 8;
    String dqOut = narrow ? base + "/dequantized" : out;
    r.add(new Node(base + "/DequantizeLinear" + tag, "DequantizeLinear", List.of(qv, scale, zp), List.of(dqOut), Attributes.empty()));
    if (narrow) {
      String lo = base + "/min", hi = base + "/max";
      inits.put(lo, Tensor.scalar((float) (q.qmin() * q.step())));
      inits.put(hi, Tensor.scalar((float) (q.qmax() * q.step())));
      r.add(new Node(base + "/Clip int" + q.bits(), "Clip", List.of(dqOut, lo, hi), List.of(out), Attributes.empty()));
    }
    meta.put(metaKey(q) + base, value(ParamQuant.of(q)));
    return r;
  }

  /** Stands in the graph for an int8 initializer that is written from {@code typed}. */
  private static Tensor placeholder() {
    return Tensor.ofLongs(new long[] {0});
  }

  /**
   * A weight's or bias's DequantizeLinear: one scale, or per channel a 1-D scale along the
   * channel axis (DequantizeLinear's axis, opset 13).
   */
  private static Node dq(String name, String in, String out, ParamQuant q, Map<String, Tensor> inits,
      Map<String, TensorProto> typed) {
    int n = q.channels().size();
    float[] steps = new float[n];
    for (int c = 0; c < n; c++) steps[c] = q.channel(c).step();
    String scale = in + "/scale";
    String zp = in + "/zero_point";
    int[] shape = q.perChannel() ? new int[] {n} : new int[0];
    inits.put(scale, Tensor.of(steps, shape));
    typed.put(zp, integers(zp, new int[n], q.bits(), shape));
    inits.put(zp, placeholder());
    Attributes a = q.perChannel() ? Attributes.empty().with("axis", (long) q.axis()) : Attributes.empty();
    return new Node(name + tag(q), "DequantizeLinear", List.of(in, scale, zp), List.of(out), a);
  }

  /** int8 (up to 8 bits) or int32 integers as an ONNX initializer. */
  private static TensorProto integers(String name, int[] v, int bits, int[] shape) {
    TensorProto.Builder tp = TensorProto.newBuilder().setName(name);
    if (bits <= 8) {
      byte[] b = new byte[v.length];
      for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
      tp.setDataType(TensorProto.DataType.INT8_VALUE).setRawData(ByteString.copyFrom(b));
    } else {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int x : v) b.putInt(x);
      tp.setDataType(TensorProto.DataType.INT32_VALUE).setRawData(ByteString.copyFrom(b.array()));
    }
    for (int d : shape) tp.addDims(d);
    return tp.build();
  }

  private static String metaKey(FixPoint q) {
    return q.powerOfTwo() ? "qspark.fix_point." : "qspark.scale.";
  }

  /** For node names (Netron): " fp=F int8", " scale=S int8", or per channel just the axis. */
  private static String tag(ParamQuant q) {
    String kind = q.powerOfTwo() ? "fp" : "scale";
    String v = q.perChannel() ? kind + " per channel (axis " + q.axis() + ")" : kind + "=" + value(q);
    return " " + v + " int" + q.bits();
  }

  /** The fix_point or scale, per channel as a list, for metadata. */
  private static String value(ParamQuant q) {
    List<String> parts = new ArrayList<>();
    for (FixPoint c : q.channels()) parts.add(c.powerOfTwo() ? Integer.toString(c.fixPoint()) : Float.toString(c.step()));
    return q.perChannel() ? "[" + String.join(",", parts) + "]" : parts.get(0);
  }
}

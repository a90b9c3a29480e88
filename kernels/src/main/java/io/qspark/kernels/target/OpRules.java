package io.qspark.kernels.target;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Judges one node of an inference graph against a target on its own: which DPU op class it
 * maps to and whether its kernel, strides, pads, channels and fused activation fit, or why it
 * is the CPU's. Reshapes and stand-alone activations depend on their neighbours; they come out
 * as {@link Status#PASS_THROUGH} and {@link Status#ACTIVATION} for the partitioner to settle.
 */
final class OpRules {
  enum Status { DPU, CPU, PASS_THROUGH, ACTIVATION }

  /** @param activation for ACTIVATION, the DPU's name of the kind (relu, relu6, ...) */
  record Verdict(Status status, OpClass opClass, String reason, String activation) {
    static Verdict cpu(String reason) {
      return new Verdict(Status.CPU, null, reason, null);
    }
  }

  static final Set<String> PASS_THROUGH = Set.of("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout");
  private static final Set<String> ACTIVATIONS = Set.of("Relu", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish");

  private final Graph graph;
  private final Map<String, int[]> shapes;
  private final DpuTarget target;

  OpRules(Graph graph, Map<String, int[]> shapes, DpuTarget target) {
    this.graph = graph;
    this.shapes = shapes;
    this.target = target;
  }

  Verdict judge(Node n) {
    String op = n.opType();
    if (io.qspark.kernels.ops.OpRegistry.isSilu(n)) return Verdict.cpu("SiLU (x·sigmoid(x)) not supported on DPU");
    if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
      return Verdict.cpu(op + " (domain " + n.domain() + ") not supported on DPU");
    }
    try {
      switch (op) {
        case "Conv": return conv(n);
        case "Gemm":
        case "MatMul": return fullyConnected(n);
        case "MaxPool": return pool(n, OpClass.MAX_POOL);
        case "AveragePool": return pool(n, OpClass.AVERAGE_POOL);
        case "GlobalAveragePool": return globalPool(n);
        case "Add":
        case "Sum": return eltwise(n, OpClass.ELTWISE_ADD);
        case "Mul": return eltwise(n, OpClass.ELTWISE_MUL);
        case "Concat": return concat(n);
        case "BatchNormalization":
          return Verdict.cpu("BatchNormalization not after a conv (cannot be folded; not supported on DPU on its own)");
        case "Pad":
          return Verdict.cpu("Pad as its own op: the DPU compiler folds zero padding into the next conv, this"
              + " partitioner does not yet");
        case "ConvTranspose":
          return Verdict.cpu("ConvTranspose: transposed convs are not described by target files yet");
        default:
          if (PASS_THROUGH.contains(op)) {
            if (!target.supports(OpClass.RESHAPE)) return Verdict.cpu(op + ": reshape not supported on this DPU");
            return new Verdict(Status.PASS_THROUGH, OpClass.RESHAPE, null, null);
          }
          if (ACTIVATIONS.contains(op)) return activation(n);
          return Verdict.cpu(op + " not supported on DPU");
      }
    } catch (OpException e) {
      return Verdict.cpu(op + ": " + e.getMessage());
    }
  }

  private Verdict conv(Node n) {
    Tensor w = graph.initializers().get(n.input(1));
    if (w == null) return Verdict.cpu("Conv with weights computed at run time (the DPU needs constant weights)");
    int[] ws = w.shape();
    int[] in = shapes.get(n.input(0));
    if (ws.length != 4 || in == null || in.length != 4) {
      return Verdict.cpu("Conv is not 2-D (weights " + Tensor.shapeString(ws) + ")");
    }
    Attributes a = n.attributes();
    int group = (int) a.getInt("group", 1);
    int oc = ws[0];
    int ic = ws[1] * group;
    OpClass c;
    if (group == 1) {
      c = OpClass.CONV;
    } else if (group == ic && oc == ic) {
      c = OpClass.DEPTHWISE_CONV;
    } else {
      c = OpClass.CONV;
      OpLimits l = target.limits(c);
      if (l == null || !l.grouped()) {
        return Verdict.cpu("Conv group=" + group + " (" + ws[1] + " input channels per group): grouped convs other than"
            + " depthwise not supported on DPU");
      }
    }
    OpLimits l = target.limits(c);
    if (l == null) return Verdict.cpu("Conv as " + c.label() + " not supported on this DPU");
    ConvGeometry g = new ConvGeometry(a, ws[2], ws[3], "Conv");
    List<String> v = new ArrayList<>();
    window(v, g, l, true, in);
    int dilation = Math.max(g.dh, g.dw);
    if (dilation > 1 && (long) dilation * ic > l.maxChannels()) {
      v.add("dilation " + dilation + " × " + ic + " input channels > " + l.maxChannels());
    }
    long banks = (long) g.kh * g.kw * ceilDiv(ic, target.channelParallel());
    if (banks > target.bankDepth()) {
      v.add("k_h·k_w·ceil(ic/" + target.channelParallel() + ") = " + g.kh + "·" + g.kw + "·" + ceilDiv(ic, target.channelParallel())
          + " = " + banks + " > bank depth " + target.bankDepth());
    }
    channels(v, "input", ic, l);
    channels(v, "output", oc, l);
    fusedActivation(v, a, c, l);
    return verdict(n, c, v, c.label());
  }

  private Verdict fullyConnected(Node n) {
    String op = n.opType();
    Tensor b = graph.initializers().get(n.input(1));
    int[] x = shapes.get(n.input(0));
    if (b == null) return Verdict.cpu(op + " of two computed tensors (the DPU needs constant weights)");
    if (b.rank() != 2 || x == null || x.length != 2) {
      return Verdict.cpu(op + " on " + (x == null ? "?" : Tensor.shapeString(x)) + " × " + Tensor.shapeString(b.shape())
          + " (the DPU's fully connected layer is 2-D)");
    }
    Attributes a = n.attributes();
    List<String> v = new ArrayList<>();
    boolean transB = false;
    if (op.equals("Gemm")) {
      transB = a.getInt("transB", 0) != 0;
      if (a.getInt("transA", 0) != 0) v.add("transA=1");
      if (a.getFloat("alpha", 1f) != 1f) v.add("alpha=" + a.getFloat("alpha", 1f) + " ≠ 1");
      if (n.hasInput(2) && a.getFloat("beta", 1f) != 1f) v.add("beta=" + a.getFloat("beta", 1f) + " ≠ 1");
      if (n.hasInput(2) && !graph.initializers().containsKey(n.input(2))) v.add("bias computed at run time");
    }
    OpClass c = OpClass.FULLY_CONNECTED;
    OpLimits l = target.limits(c);
    if (l == null) return Verdict.cpu(op + ": fully connected not supported on this DPU");
    int in = transB ? b.dim(1) : b.dim(0);
    int out = transB ? b.dim(0) : b.dim(1);
    channels(v, "input", in, l);
    channels(v, "output", out, l);
    // compiled as a 1x1 conv2d: its input channels fill the weight banks
    long banks = ceilDiv(in, target.channelParallel());
    if (banks > target.bankDepth()) {
      v.add("ceil(ic/" + target.channelParallel() + ") = " + banks + " > bank depth " + target.bankDepth());
    }
    fusedActivation(v, a, c, l);
    return verdict(n, c, v, "fully connected (as a 1x1 conv)");
  }

  private Verdict pool(Node n, OpClass c) {
    String op = n.opType();
    OpLimits l = target.limits(c);
    if (l == null) return Verdict.cpu(op + ": " + c.label() + " not supported on this DPU");
    long[] k = n.attributes().getInts("kernel_shape", null);
    int[] in = shapes.get(n.input(0));
    if (k == null || k.length != 2 || in == null || in.length != 4) return Verdict.cpu(op + " is not 2-D");
    List<String> v = new ArrayList<>();
    if (n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) v.add("indices output");
    ConvGeometry g = new ConvGeometry(n.attributes(), (int) k[0], (int) k[1], op);
    if (g.dh != 1 || g.dw != 1) v.add("dilation " + Math.max(g.dh, g.dw) + " (pooling has none on DPU)");
    window(v, g, l, false, in);
    return verdict(n, c, v, c.label());
  }

  /** A global average is an average pool whose window is the whole plane. */
  private Verdict globalPool(Node n) {
    OpClass c = OpClass.AVERAGE_POOL;
    OpLimits l = target.limits(c);
    int[] in = shapes.get(n.input(0));
    if (l == null) return Verdict.cpu("GlobalAveragePool: average pool not supported on this DPU");
    if (in == null || in.length != 4 || in[2] < 0 || in[3] < 0) return Verdict.cpu("GlobalAveragePool is not 2-D");
    String as = "as " + in[2] + "x" + in[3] + " average pool";
    List<String> v = new ArrayList<>();
    range(v, "k", in[2], in[3], l.kernel());
    if (l.square() && in[2] != in[3]) v.add("kernel " + in[2] + "x" + in[3] + " not square");
    if (!v.isEmpty()) return Verdict.cpu("GlobalAveragePool " + as + ": " + String.join(", ", v));
    return new Verdict(Status.DPU, c, "DPU average pool (global, " + in[2] + "x" + in[3] + ")", null);
  }

  private Verdict eltwise(Node n, OpClass c) {
    String op = n.opType();
    OpLimits l = target.limits(c);
    if (l == null) return Verdict.cpu(op + ": " + c.label() + " not supported on this DPU");
    List<String> v = new ArrayList<>();
    int[] out = shapes.get(n.outputs().get(0));
    for (String in : n.inputs()) {
      if (graph.initializers().containsKey(in)) {
        return Verdict.cpu(op + " with a constant input (the DPU's eltwise combines feature maps)");
      }
      int[] s = shapes.get(in);
      if (s == null || out == null || !Arrays.equals(s, out)) {
        return Verdict.cpu(op + " broadcasts " + (s == null ? "?" : Tensor.shapeString(s)) + " to "
            + (out == null ? "?" : Tensor.shapeString(out)) + " (the DPU's eltwise needs equal shapes)");
      }
    }
    if (n.inputs().size() > l.maxInputs()) v.add(n.inputs().size() + " inputs > " + l.maxInputs());
    if (out.length >= 2) channels(v, "", out[1], l);
    return verdict(n, c, v, c.label());
  }

  private Verdict concat(Node n) {
    if (!target.supports(OpClass.CONCAT)) return Verdict.cpu("Concat not supported on this DPU");
    int[] out = shapes.get(n.outputs().get(0));
    long axis = n.attributes().getInt("axis", 1);
    if (out != null && axis < 0) axis += out.length;
    if (axis != 1) return Verdict.cpu("Concat on axis " + axis + " (the DPU concatenates channels only)");
    return new Verdict(Status.DPU, OpClass.CONCAT, "DPU concat", null);
  }

  /** A stand-alone activation: runs on the DPU only fused into its producer (the partitioner decides). */
  private Verdict activation(Node n) {
    Attributes a = n.attributes();
    String kind;
    switch (n.opType()) {
      case "Relu": kind = "relu"; break;
      case "LeakyRelu": kind = "leaky_relu"; break;
      case "HardSwish": kind = "hard_swish"; break;
      case "HardSigmoid": {
        float alpha = a.getFloat("alpha", 0.2f);
        float beta = a.getFloat("beta", 0.5f);
        if (Math.abs(alpha - 1f / 6) > 1e-6f || beta != 0.5f) {
          return Verdict.cpu("HardSigmoid alpha=" + alpha + ", beta=" + beta + " is not the DPU's hard-sigmoid"
              + " (relu6(x + 3) / 6: alpha=1/6, beta=0.5)");
        }
        kind = "hard_sigmoid";
        break;
      }
      default: { // Clip
        float lo = bound(n, 1, "min", Float.NEGATIVE_INFINITY);
        float hi = bound(n, 2, "max", Float.POSITIVE_INFINITY);
        if (Float.isNaN(lo) || Float.isNaN(hi)) return Verdict.cpu("Clip with bounds computed at run time");
        if (lo != 0f || hi != 6f) {
          return Verdict.cpu("Clip[" + fmt(lo) + "," + fmt(hi) + "] is not a DPU activation (ReLU6 is Clip[0,6])");
        }
        kind = "relu6";
      }
    }
    return new Verdict(Status.ACTIVATION, null, null, kind);
  }

  /** Clip's bound: an input since opset 11, an attribute before; NaN when not a constant. */
  private float bound(Node n, int input, String attr, float dflt) {
    if (n.hasInput(input)) {
      Tensor t = graph.initializers().get(n.input(input));
      return t == null ? Float.NaN : t.asFloats()[0];
    }
    return n.attributes().getFloat(attr, dflt);
  }

  /** Kernel, stride and pads of a conv or pooling window against the class's limits. */
  private void window(List<String> v, ConvGeometry g, OpLimits l, boolean dilated, int[] in) {
    range(v, "k", g.kh, g.kw, l.kernel());
    range(v, "s", g.sh, g.sw, l.stride());
    if (l.square() && g.kh != g.kw) v.add("kernel " + g.kh + "x" + g.kw + " not square");
    int[] p = g.pads(in[2], in[3]);
    int maxH = (g.kh - 1) * (dilated ? g.dh : 1);
    int maxW = (g.kw - 1) * (dilated ? g.dw : 1);
    int ph = Math.max(p[0], p[2]);
    int pw = Math.max(p[1], p[3]);
    String rule = dilated ? "(k-1)·dilation" : "k-1";
    if (ph == pw && maxH == maxW) {
      if (ph > maxH) v.add("pad " + ph + " > " + rule + " = " + maxH);
    } else {
      if (ph > maxH) v.add("pad_h " + ph + " > " + rule + " = " + maxH);
      if (pw > maxW) v.add("pad_w " + pw + " > " + rule + " = " + maxW);
    }
  }

  /** "k=11 > 8" for square windows, "k_h=11 > 8" otherwise. */
  private static void range(List<String> v, String what, int h, int w, OpLimits.Range r) {
    if (h == w) {
      if (!r.contains(h)) v.add(what + "=" + h + (h > r.max() ? " > " + r.max() : " < " + r.min()));
      return;
    }
    if (!r.contains(h)) v.add(what + "_h=" + h + (h > r.max() ? " > " + r.max() : " < " + r.min()));
    if (!r.contains(w)) v.add(what + "_w=" + w + (w > r.max() ? " > " + r.max() : " < " + r.min()));
  }

  private static void channels(List<String> v, String which, int count, OpLimits l) {
    if (count > l.maxChannels()) v.add((which.isEmpty() ? "" : which + " ") + "channels " + count + " > " + l.maxChannels());
  }

  private static void fusedActivation(List<String> v, Attributes a, OpClass c, OpLimits l) {
    Activation act = Activation.fused(a);
    if (act == null) return;
    String kind = dpuName(act);
    if (kind == null) {
      v.add("fused " + act.suffix().substring(1) + " is not a DPU activation");
    } else if (!l.activations().contains(kind)) {
      v.add("fused " + kind + " not among " + c.label() + " activations (" + list(l.activations()) + ")");
    }
  }

  /** The DPU's name for a fused activation, or null when it has none. */
  static String dpuName(Activation act) {
    switch (act.kind()) {
      case RELU: return "relu";
      case LEAKY_RELU: return "leaky_relu";
      case CLIP: return act.lo() == 0f && act.hi() == 6f ? "relu6" : null;
      default: return null;
    }
  }

  private static Verdict verdict(Node n, OpClass c, List<String> violations, String label) {
    if (!violations.isEmpty()) return Verdict.cpu(n.opType() + " " + String.join(", ", violations));
    Activation act = Activation.fused(n.attributes());
    return new Verdict(Status.DPU, c, "DPU " + label + (act == null ? "" : " +" + dpuName(act)), null);
  }

  static String list(Set<String> s) {
    return s.isEmpty() ? "none" : String.join(", ", new TreeSet<>(s));
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  private static String fmt(float v) {
    return v == Math.rint(v) && !Float.isInfinite(v) ? Integer.toString((int) v) : Float.toString(v);
  }
}

package io.qspark.kernels.onnx;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A node imported under one opset, in the form another opset gives the same meaning: what the
 * exporter writes when a model imported at opset 9 or 11 (converter exports) is written at
 * opset 13 for other runtimes (the QDQ model, the float model of a calibration folder). qspark's
 * own ops read both forms, ONNX Runtime reads only its opset's. Covered (ONNX's Changelog.md):
 * axes, split and pads attributes that became inputs (Squeeze, Unsqueeze, ReduceSum, Split at
 * 13; ReduceMean/Max/Min at 18, both ways; Pad and Clip at 11; Slice at 10), Resize-10's
 * inputs and coordinates, Upsample (deprecated at 10) as Resize, and Softmax's axis, which
 * flattened the input before 13.
 */
final class OpsetForms {
  private OpsetForms() {}

  /** The node (or nodes) for {@code opset}; new constants go into {@code inits}. */
  static List<Node> at(Node n, long opset, Map<String, Tensor> inits) {
    long from = n.attributes().opset();
    if (!n.domain().isEmpty() || from == Long.MAX_VALUE || from == opset) return List.of(n);
    String base = n.name().isEmpty() ? n.outputs().get(0) : n.name();
    switch (n.opType()) {
      case "Squeeze":
      case "Unsqueeze":
      case "ReduceSum":
      case "Split":
        return List.of(attributeToInput(n, n.opType().equals("Split") ? "split" : "axes", 1, from, opset, 13, base, inits));
      case "ReduceMean":
      case "ReduceMax":
      case "ReduceMin":
        return List.of(attributeToInput(n, "axes", 1, from, opset, 18, base, inits));
      case "Slice":
        return List.of(slice(n, from, opset, base, inits));
      case "Clip":
        return List.of(clip(n, from, opset, base, inits));
      case "Pad":
        return List.of(pad(n, from, opset, base, inits));
      case "Resize":
        return List.of(from < 11 && opset >= 11 ? resize10(n, n.input(1), base, inits) : n);
      case "Upsample": {
        if (opset < 10) return List.of(n);
        String scales = n.input(1);
        if (scales.isEmpty()) scales = constant(inits, base + "/scales", floats(n.attributes().getFloats("scales", new float[0])));
        return List.of(resize10(n, scales, base, inits));
      }
      case "Softmax":
        return softmax(n, from, opset, base, inits);
      default:
        return List.of(n);
    }
  }

  /** An attribute that became input {@code index} at opset {@code since} (both directions). */
  private static Node attributeToInput(Node n, String attr, int index, long from, long to, long since, String base,
      Map<String, Tensor> inits) {
    Attributes a = n.attributes();
    if (from < since && to >= since && a.has(attr)) {
      long[] v = a.getInts(attr, null);
      List<String> ins = new ArrayList<>(n.inputs());
      while (ins.size() < index) ins.add("");
      ins.add(index, constant(inits, base + "/" + attr, Tensor.ofLongs(v, v.length)));
      return rebuild(n, ins, without(a, attr));
    }
    if (from >= since && to < since && n.hasInput(index) && inits.containsKey(n.input(index))) {
      List<String> ins = new ArrayList<>(n.inputs().subList(0, index));
      ins.addAll(n.inputs().subList(index + 1, n.inputs().size()));
      while (!ins.isEmpty() && ins.get(ins.size() - 1).isEmpty()) ins.remove(ins.size() - 1);
      return rebuild(n, ins, a.with(attr, inits.get(n.input(index)).asLongs()));
    }
    return n;
  }

  private static Node slice(Node n, long from, long to, String base, Map<String, Tensor> inits) {
    Attributes a = n.attributes();
    if (from >= 10 || to < 10 || !a.has("starts")) return n;
    List<String> ins = new ArrayList<>(List.of(n.input(0)));
    for (String k : new String[] {"starts", "ends", "axes"}) {
      long[] v = a.getInts(k, null);
      if (v != null) ins.add(constant(inits, base + "/" + k, Tensor.ofLongs(v, v.length)));
      a = without(a, k);
    }
    return rebuild(n, ins, a);
  }

  private static Node clip(Node n, long from, long to, String base, Map<String, Tensor> inits) {
    Attributes a = n.attributes();
    if (from >= 11 || to < 11 || !a.has("min") && !a.has("max")) return n;
    List<String> ins = new ArrayList<>(List.of(n.input(0)));
    ins.add(a.has("min") ? constant(inits, base + "/min", Tensor.scalar(a.getFloat("min", 0))) : "");
    if (a.has("max")) ins.add(constant(inits, base + "/max", Tensor.scalar(a.getFloat("max", 0))));
    return rebuild(n, ins, without(without(a, "min"), "max"));
  }

  private static Node pad(Node n, long from, long to, String base, Map<String, Tensor> inits) {
    Attributes a = n.attributes();
    if (from >= 11 || to < 11 || !a.has("pads")) return n;
    long[] pads = a.getInts("pads", null);
    List<String> ins = new ArrayList<>(List.of(n.input(0), constant(inits, base + "/pads", Tensor.ofLongs(pads, pads.length))));
    if (a.getFloat("value", 0f) != 0f) ins.add(constant(inits, base + "/value", Tensor.scalar(a.getFloat("value", 0f))));
    return rebuild(n, ins, without(without(a, "pads"), "value"));
  }

  /**
   * Resize-10 and Upsample as Resize-11+: asymmetric coordinates; nearest rounds as their
   * "simple" rule does, down when enlarging (up when shrinking: every scale must agree).
   */
  private static Node resize10(Node n, String scales, String base, Map<String, Tensor> inits) {
    Attributes a = Attributes.empty().with(Attributes.OPSET, n.attributes().opset());
    String mode = n.attributes().getString("mode", "nearest");
    a = a.with("mode", mode.equals("bilinear") ? "linear" : mode).with("coordinate_transformation_mode", "asymmetric");
    if (!mode.contains("linear")) {
      Tensor s = inits.get(scales);
      if (s == null) return n;
      boolean up = true, down = true;
      for (float v : s.asFloats()) {
        up &= v >= 1f;
        down &= v <= 1f;
      }
      if (!up && !down) return n;
      a = a.with("nearest_mode", up ? "floor" : "ceil");
    }
    return new Node(n.name(), "Resize", n.domain(), List.of(n.input(0), "", scales), n.outputs(), a);
  }

  /**
   * Softmax before 13 normalises the input flattened to 2-D at its axis; since, along one axis.
   * The same meaning at the other opset: the dimensions from the axis on merged into one, Softmax
   * on the last axis, Reshape back (not needed for axis -1, where the two agree). The merge is a
   * Reshape to [0, ..., 0, -1] (k zeros: the first k dimensions copied), not Flatten, so the
   * batch stays the first dimension of every value and a deploy model's CPU layer between the two
   * Reshapes takes a batch-first input; Flatten only for axis 0, which merges the batch too.
   */
  private static List<Node> softmax(Node n, long from, long to, String base, Map<String, Tensor> inits) {
    boolean flattening = from < 13;
    if (flattening == to < 13) return List.of(n);
    long axis = n.attributes().getInt("axis", flattening ? 1 : -1);
    if (axis == -1) return List.of(n);
    if (!flattening) return List.of(n); // per-axis semantics at an older opset would need a Transpose; not emitted
    String x = n.input(0), out = n.outputs().get(0);
    Attributes opset = Attributes.empty().with(Attributes.OPSET, to);
    Node merge;
    if (axis >= 1) {
      long[] target = new long[(int) axis + 1];
      target[(int) axis] = -1;
      merge = new Node(base + "/merge", "Reshape", List.of(x, constant(inits, base + "/merged_shape",
          Tensor.ofLongs(target, target.length))), List.of(base + "/flat"), opset);
    } else {
      merge = new Node(base + "/flatten", "Flatten", List.of(x), List.of(base + "/flat"), opset.with("axis", axis));
    }
    return List.of(
        new Node(base + "/shape", "Shape", List.of(x), List.of(base + "/shape"), opset),
        merge,
        new Node(n.name(), "Softmax", List.of(base + "/flat"), List.of(base + "/normalised"), opset.with("axis", -1L)),
        new Node(base + "/reshape", "Reshape", List.of(base + "/normalised", base + "/shape"), List.of(out), opset));
  }

  private static Node rebuild(Node n, List<String> inputs, Attributes a) {
    return new Node(n.name(), n.opType(), n.domain(), inputs, n.outputs(), a);
  }

  private static Attributes without(Attributes a, String key) {
    Map<String, Object> m = new java.util.LinkedHashMap<>(a.asMap());
    m.remove(key);
    return new Attributes(m);
  }

  private static String constant(Map<String, Tensor> inits, String base, Tensor t) {
    String name = base;
    for (int i = 1; inits.containsKey(name); i++) name = base + "_" + i;
    inits.put(name, t);
    return name;
  }

  private static Tensor floats(float[] v) {
    return Tensor.of(v, v.length);
  }
}

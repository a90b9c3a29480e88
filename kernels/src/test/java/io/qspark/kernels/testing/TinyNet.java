package io.qspark.kernels.testing;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.onnx.OnnxExporter;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds small float graphs node by node (deterministic weights), for tests that need a model
 * with one particular feature: an op the DPU lacks, a kernel too large, a grouped conv.
 */
public final class TinyNet {
  private final ValueInfo input;
  private final List<Node> nodes = new ArrayList<>();
  private final Map<String, Tensor> inits = new LinkedHashMap<>();

  /** One input named "x"; -1 is the batch. */
  public TinyNet(int... shape) {
    this.input = new ValueInfo("x", shape);
  }

  /** Conv with weights [out, in/group, k, k] and a bias; returns the output value (= name). */
  public String conv(String name, String in, int inCh, int outCh, int k, int stride, int pad, int group) {
    Tensor w = weights(outCh * (inCh / group) * k * k, outCh, inCh / group, k, k);
    inits.put(name + ".w", w);
    inits.put(name + ".b", weights(outCh, outCh));
    return op(name, "Conv", attrs("kernel_shape", new long[] {k, k}, "strides", new long[] {stride, stride},
        "pads", new long[] {pad, pad, pad, pad}, "group", (long) group), in, name + ".w", name + ".b");
  }

  /** Gemm y = x W^T + b with W [out, in]. */
  public String gemm(String name, String in, int inF, int outF) {
    inits.put(name + ".w", weights(outF * inF, outF, inF));
    inits.put(name + ".b", weights(outF, outF));
    return op(name, "Gemm", attrs("transB", 1L), in, name + ".w", name + ".b");
  }

  /** Any node with one output named as the node. */
  public String op(String name, String opType, Attributes a, String... inputs) {
    nodes.add(new Node(name, opType, List.of(inputs), List.of(name), a));
    return name;
  }

  /** An initializer; returns its name. */
  public String constant(String name, Tensor value) {
    inits.put(name, value);
    return name;
  }

  /** A node with n outputs, named name:0, name:1, ... */
  public String[] ops(String name, String opType, Attributes a, int n, String... inputs) {
    String[] outs = new String[n];
    for (int i = 0; i < n; i++) outs[i] = name + ":" + i;
    nodes.add(new Node(name, opType, List.of(inputs), List.of(outs), a));
    return outs;
  }

  public String op(String name, String opType, String... inputs) {
    return op(name, opType, Attributes.empty(), inputs);
  }

  public Graph graph(String... outputs) {
    return new Graph("tiny", List.of(input), List.of(outputs), inits, nodes);
  }

  /** Writes the graph as ONNX (opset 13). */
  public Path write(Path file, String... outputs) throws IOException {
    Files.write(file, OnnxExporter.export(graph(outputs), 13, Map.of(), Map.of(), List.of()).toByteArray());
    return file;
  }

  /**
   * A residual block and a classifier head as qspark quantizes it (BatchNorm folded, activations
   * fused): x [-1, 4, 8, 8] -> c1 (+relu) -> c2 (+relu) -> add(c1, c2) -> relu r3 -> c3 (1x1) ->
   * flat -> fc (10 outputs). Node names: c1, c2, add, r3, c3, flat, fc; c1's and c2's outputs are
   * r1 and r2 (their ReLUs fused).
   */
  public static Graph residualClassifier() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String c1 = t.op("r1", "Relu", t.conv("c1", "x", 4, 8, 3, 1, 1, 1));
    String c2 = t.op("r2", "Relu", t.conv("c2", c1, 8, 8, 3, 1, 1, 1));
    String add = t.op("r3", "Relu", t.op("add", "Add", c1, c2));
    String c3 = t.conv("c3", add, 8, 8, 1, 1, 0, 1);
    return io.qspark.kernels.passes.InferencePasses.apply(t.graph(t.gemm("fc", t.op("flat", "Flatten", c3), 8 * 64, 10)));
  }

  public static Attributes attrs(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return new Attributes(m);
  }

  private static Tensor weights(int n, int... shape) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) Math.sin(0.37 * i + 0.1) * 0.2f;
    return Tensor.of(v, shape);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Node;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Maps ONNX op types (default domain) to their float implementations: one table from op type
 * to factory, which is also the list of what qspark supports (help texts, error messages), so
 * the two cannot drift apart.
 */
public final class OpRegistry {
  private OpRegistry() {}

  /** qspark's own ops: QAT's BatchNorm, and SiLU as the importer recognizes it. */
  public static final String QSPARK_DOMAIN = "io.qspark";

  /** Builds a node's op from its attributes (and, for a few ops, its output count). */
  @FunctionalInterface
  private interface Factory {
    Op create(Attributes a, Node node);
  }

  private static final Map<String, Factory> FACTORIES = factories();

  private static Map<String, Factory> factories() {
    Map<String, Factory> f = new TreeMap<>();
    for (String t : List.of("Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Identity", "Dropout", "Clip")) {
      f.put(t, (a, n) -> Activation.of(t, a));
    }
    for (String t : List.of("Add", "Sub", "Mul", "Div", "PRelu")) f.put(t, (a, n) -> Elementwise.of(t));
    for (String t : List.of("Sum", "Max", "Min")) f.put(t, (a, n) -> new Variadic(t));
    for (String t : List.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin")) f.put(t, (a, n) -> new Reduce(t, a));
    for (String t : List.of("Sqrt", "Reciprocal", "Neg", "Exp", "Log", "Abs")) f.put(t, (a, n) -> new Unary(t));
    f.put("Conv", (a, n) -> new Conv(a));
    f.put("Gemm", (a, n) -> new Gemm(a));
    f.put("MatMul", (a, n) -> new MatMul());
    f.put("BatchNormalization", (a, n) -> new BatchNormalization(a));
    f.put("GlobalAveragePool", (a, n) -> new GlobalAveragePool(a));
    f.put("Flatten", (a, n) -> new Flatten(a));
    f.put("Reshape", (a, n) -> new Reshape(a));
    f.put("Constant", (a, n) -> new Constant(a));
    f.put("ConvTranspose", (a, n) -> new ConvTranspose(a));
    f.put("MaxPool", (a, n) -> new MaxPool(a, n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()));
    f.put("AveragePool", (a, n) -> new AveragePool(a));
    f.put("Concat", (a, n) -> new Concat(a));
    f.put("Transpose", (a, n) -> new Transpose(a));
    f.put("Squeeze", (a, n) -> new Squeeze(a));
    f.put("Unsqueeze", (a, n) -> new Unsqueeze(a));
    f.put("Softmax", (a, n) -> new Softmax(a));
    f.put("Resize", (a, n) -> new Resize(a));
    f.put("Upsample", (a, n) -> new Upsample(a));
    f.put("Pad", (a, n) -> new Pad(a));
    f.put("Shape", (a, n) -> new Shape(a));
    f.put("Gather", (a, n) -> new Gather(a));
    f.put("Slice", (a, n) -> new Slice(a));
    f.put("Cast", (a, n) -> new Cast(a));
    f.put("Split", (a, n) -> new Split(a, n.outputs().size()));
    f.put("Expand", (a, n) -> new Expand());
    f.put("ConstantOfShape", (a, n) -> new ConstantOfShape(a));
    f.put("Where", (a, n) -> new Where());
    f.put("Equal", (a, n) -> new Equal());
    f.put("Pow", (a, n) -> new Pow());
    return Collections.unmodifiableMap(f);
  }

  /** Every op type {@link #create} accepts, sorted, for help texts and error messages. */
  public static Set<String> supported() {
    return FACTORIES.keySet();
  }

  public static boolean supports(Node node) {
    if (isQatBatchNorm(node) || isSilu(node)) return true;
    return isDefaultDomain(node) && FACTORIES.containsKey(node.opType());
  }

  /** SiLU as {@code GatedActivations} writes it: qspark's domain, no attributes. */
  public static boolean isSilu(Node n) {
    return n.domain().equals(QSPARK_DOMAIN) && n.opType().equals(Activation.SILU);
  }

  /** QAT's own training op, which only {@code QatGraph} creates (no model file contains it). */
  private static boolean isQatBatchNorm(Node n) {
    return n.domain().equals(QatBatchNorm.DOMAIN) && n.opType().equals(QatBatchNorm.OP_TYPE);
  }

  private static boolean isDefaultDomain(Node n) {
    return n.domain().isEmpty() || n.domain().equals("ai.onnx");
  }

  /** The op for a node; throws {@link OpException} naming the node if it cannot be built. */
  public static Op create(Node node) {
    if (!supports(node)) {
      throw new OpException("unsupported op " + node.describe());
    }
    Attributes a = node.attributes();
    try {
      if (isQatBatchNorm(node)) return new QatBatchNorm(a);
      if (isSilu(node)) return Activation.of(node.opType(), a);
      return FACTORIES.get(node.opType()).create(a, node);
    } catch (OpException e) {
      throw new OpException("node " + node.describe() + ": " + e.getMessage());
    }
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Node;
import java.util.Set;
import java.util.TreeSet;

/** Maps ONNX op types (default domain) to their float implementations. */
public final class OpRegistry {
  private OpRegistry() {}

  private static final Set<String> ACTIVATIONS = Set.of("Relu", "LeakyRelu", "Sigmoid",
      "HardSigmoid", "HardSwish", "Tanh", "Identity", "Dropout", "Clip");
  private static final Set<String> BINARY = Set.of("Add", "Sub", "Mul", "Div", "PRelu");
  private static final Set<String> VARIADIC = Set.of("Sum", "Max", "Min");
  private static final Set<String> REDUCE = Set.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin");
  private static final Set<String> UNARY = Set.of("Sqrt", "Reciprocal", "Neg", "Exp", "Log", "Abs");
  /** qspark's own ops: QAT's BatchNorm, and SiLU as the importer recognizes it. */
  public static final String QSPARK_DOMAIN = "io.qspark";

  /** Every op type {@link #create} accepts, sorted, for help texts and error messages. */
  public static Set<String> supported() {
    Set<String> s = new TreeSet<>(ACTIVATIONS);
    s.addAll(BINARY);
    s.addAll(VARIADIC);
    s.addAll(REDUCE);
    s.addAll(UNARY);
    s.addAll(Set.of("Conv", "Gemm", "MatMul", "BatchNormalization", "GlobalAveragePool", "Flatten",
        "Reshape", "Constant", "ConvTranspose", "MaxPool", "AveragePool", "Concat", "Transpose",
        "Squeeze", "Unsqueeze", "Softmax", "Resize", "Upsample", "Pad", "Shape", "Gather", "Slice",
        "Cast", "Split", "Expand", "ConstantOfShape", "Where", "Equal", "Pow"));
    return s;
  }

  public static boolean supports(Node node) {
    if (isQatBatchNorm(node) || isSilu(node)) return true;
    return isDefaultDomain(node) && supported().contains(node.opType());
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
    String t = node.opType();
    try {
      if (isQatBatchNorm(node)) return new QatBatchNorm(a);
      if (isSilu(node)) return Activation.of(t, a);
      if (ACTIVATIONS.contains(t)) return Activation.of(t, a);
      if (BINARY.contains(t)) return Elementwise.of(t);
      if (VARIADIC.contains(t)) return new Variadic(t);
      if (REDUCE.contains(t)) return new Reduce(t, a);
      if (UNARY.contains(t)) return new Unary(t);
      switch (t) {
        case "Conv": return new Conv(a);
        case "Gemm": return new Gemm(a);
        case "MatMul": return new MatMul();
        case "BatchNormalization": return new BatchNormalization(a);
        case "GlobalAveragePool": return new GlobalAveragePool(a);
        case "Flatten": return new Flatten(a);
        case "Reshape": return new Reshape(a);
        case "Constant": return new Constant(a);
        case "ConvTranspose": return new ConvTranspose(a);
        case "MaxPool":
          return new MaxPool(a, node.outputs().size() > 1 && !node.outputs().get(1).isEmpty());
        case "AveragePool": return new AveragePool(a);
        case "Concat": return new Concat(a);
        case "Transpose": return new Transpose(a);
        case "Squeeze": return new Squeeze(a);
        case "Unsqueeze": return new Unsqueeze(a);
        case "Softmax": return new Softmax(a);
        case "Resize": return new Resize(a);
        case "Upsample": return new Upsample(a);
        case "Pad": return new Pad(a);
        case "Shape": return new Shape(a);
        case "Gather": return new Gather(a);
        case "Slice": return new Slice(a);
        case "Cast": return new Cast(a);
        case "Split": return new Split(a, node.outputs().size());
        case "Expand": return new Expand();
        case "ConstantOfShape": return new ConstantOfShape(a);
        case "Where": return new Where();
        case "Equal": return new Equal();
        case "Pow": return new Pow();
        default: throw new AssertionError(t);
      }
    } catch (OpException e) {
      throw new OpException("node " + node.describe() + ": " + e.getMessage());
    }
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.ops.QatBatchNorm;
import java.util.Set;

/** Maps op types to their backward kernels: what fine-tuning and QAT can train through. */
public final class GradRegistry {
  private GradRegistry() {}

  private static final Set<String> RESHAPES = Set.of("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout");
  private static final Set<String> ACTIVATIONS = Set.of("Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
      Activation.SILU, "Tanh");
  private static final Set<String> REDUCTIONS = Set.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin");
  private static final Set<String> UNARY = Set.of("Sqrt", "Reciprocal", "Neg", "Exp", "Log", "Abs");
  private static final Set<String> OTHERS = Set.of("MatMul", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
      "Add", "Sub", "Mul", "Div", "Pow", "Concat", "Split", "Resize", "Upsample", "Softmax", "Transpose", "Expand");

  public static boolean supports(Node n) {
    String t = n.opType();
    if (isQatBatchNorm(n)) return true;
    if (t.equals("Conv") || t.equals("Gemm")) {
      Activation a = Activation.fused(n.attributes());
      return a == null || ActivationGrad.differentiable(a);
    }
    return RESHAPES.contains(t) || ACTIVATIONS.contains(t) || REDUCTIONS.contains(t) || UNARY.contains(t) || OTHERS.contains(t);
  }

  private static boolean isQatBatchNorm(Node n) {
    return n.opType().equals(QatBatchNorm.OP_TYPE) && n.domain().equals(QatBatchNorm.DOMAIN);
  }

  public static OpGrad create(Node n) {
    if (!supports(n)) throw new OpException("no gradient for " + n.describe());
    var a = n.attributes();
    if (isQatBatchNorm(n)) return new QatBatchNormGrad(a);
    switch (n.opType()) {
      case "Conv": return new ConvGrad(a);
      case "Gemm": return new GemmGrad(a);
      case "MatMul": return new MatMulGrad();
      case "BatchNormalization": return new BatchNormGrad(a);
      case "MaxPool": return new PoolGrad(PoolGrad.Kind.MAX, a);
      case "AveragePool": return new PoolGrad(PoolGrad.Kind.AVERAGE, a);
      case "GlobalAveragePool": return new PoolGrad(PoolGrad.Kind.GLOBAL_AVERAGE, a);
      case "Add": case "Sub": case "Mul": case "Div": return new ElementwiseGrad(n.opType());
      case "Concat": return new ConcatGrad(a);
      case "Split": return new SplitGrad(a, n.outputs().size());
      case "Resize": case "Upsample": return new ResizeGrad(n.opType(), a);
      case "Softmax": return new SoftmaxGrad(a);
      case "Transpose": return new TransposeGrad(a);
      case "Expand": return new ExpandGrad();
      case "Pow": return new PowGrad();
      default:
        if (RESHAPES.contains(n.opType())) return new ReshapeGrad();
        if (REDUCTIONS.contains(n.opType())) return new ReduceGrad(n.opType(), a);
        if (UNARY.contains(n.opType())) return new UnaryGrad(n.opType());
        return new ActivationGrad(Activation.of(n.opType(), a));
    }
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Tensor;

/** Sum, Max and Min of one or more inputs with broadcasting, folded pairwise left to right. */
public final class Variadic implements Op {
  private final Elementwise pair;

  public Variadic(String opType) {
    switch (opType) {
      case "Sum": pair = new Elementwise(Elementwise.Kind.ADD); break;
      case "Max": pair = new Elementwise(Elementwise.Kind.MAX); break;
      case "Min": pair = new Elementwise(Elementwise.Kind.MIN); break;
      default: throw new IllegalArgumentException(opType);
    }
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    if (in.length == 0 || in[0] == null) throw new OpException(pair.kind() + ": no inputs");
    Tensor acc = in[0];
    for (int i = 1; i < in.length; i++) acc = pair.forward(new Tensor[] {acc, in[i]})[0];
    return new Tensor[] {acc};
  }
}

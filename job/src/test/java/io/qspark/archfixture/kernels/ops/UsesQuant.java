package io.qspark.archfixture.kernels.ops;

import io.qspark.archfixture.kernels.quant.Rule;

/** A float "op" that reaches into quantization, for PackageStructureTest's negative case. */
public final class UsesQuant {
  public static String bits() {
    return Rule.BITS;
  }
}

package io.qspark.archfixture.kernels.quant;

/** A "quantization" class, for PackageStructureTest's negative case. */
public final class Rule {
  public static final String BITS = String.valueOf(8);
}

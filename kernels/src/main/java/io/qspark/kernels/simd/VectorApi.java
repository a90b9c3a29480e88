package io.qspark.kernels.simd;

/**
 * Whether the jdk.incubator.vector module is in the boot layer (--add-modules). Classes that
 * use the Vector API are only touched when it is, so qspark still runs, on scalar loops,
 * without it.
 */
public final class VectorApi {
  public static final boolean PRESENT = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  private VectorApi() {}
}

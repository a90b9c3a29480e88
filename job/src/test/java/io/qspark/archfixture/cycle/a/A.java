package io.qspark.archfixture.cycle.a;

/** Half of a package cycle, for PackageStructureTest's negative case. */
public final class A {
  public static int n() {
    return io.qspark.archfixture.cycle.b.B.class.getName().length();
  }
}

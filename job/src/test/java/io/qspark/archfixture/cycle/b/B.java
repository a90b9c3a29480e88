package io.qspark.archfixture.cycle.b;

import io.qspark.archfixture.cycle.a.A;

/** The other half of a package cycle, for PackageStructureTest's negative case. */
public final class B {
  public static int n() {
    return A.n();
  }
}

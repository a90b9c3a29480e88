package io.qspark.archfixture.dpu;

import io.qspark.archfixture.job.app.UsesCli;

/** A "simulator" class that depends on the job, for PackageStructureTest's negative case. */
public final class UsesJob {
  public static String name() {
    return UsesCli.name();
  }
}

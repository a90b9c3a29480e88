package io.qspark.archfixture.job.app;

import io.qspark.archfixture.job.cli.Command;

/** An "application service" that reaches up into the command line, for PackageStructureTest's negative case. */
public final class UsesCli {
  public static String name() {
    return Command.NAME;
  }
}

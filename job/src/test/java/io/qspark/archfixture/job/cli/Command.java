package io.qspark.archfixture.job.cli;

/** A "command", for PackageStructureTest's negative case. */
public final class Command {
  public static final String NAME = String.valueOf("calibrate");
}

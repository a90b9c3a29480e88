package io.qspark.job;

import io.qspark.job.cli.Cli;
import java.io.PrintStream;

/** Entry point for bin/qspark and spark-submit: `qspark <command> [options]`. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command line and returns its exit code; tests call this in-process. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return Cli.run(args, out, err);
  }
}

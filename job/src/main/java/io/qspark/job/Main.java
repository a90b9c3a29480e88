package io.qspark.job;

import io.qspark.job.cli.Cli;
import io.qspark.job.cli.StopSignals;
import java.io.PrintStream;

/** Entry point for bin/qspark and spark-submit: `qspark <command> [options]`. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    StopSignals.install(System.err);
    int code = run(args, System.out, System.err);
    StopSignals.exiting();
    System.exit(code);
  }

  /** Runs one command line and returns its exit code; tests call this in-process. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return Cli.run(args, out, err);
  }
}

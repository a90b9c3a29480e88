package io.qspark.job.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The root command: global options only; the work is in the subcommands of {@link Commands}. */
@Command(name = "qspark", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = "Quantizes neural networks for power-of-two fixed-point accelerators, as a Spark job.",
    footerHeading = "%nExit codes:%n",
    footer = {"  0  success", "  1  internal error (a bug: rerun with --verbose and report it)",
        "  2  bad command line, model or data", "  3  the Spark job failed",
        "  4  accuracy gate failed (simulate --max-top1-drop)"},
    commandListHeading = "%nCommands:%n")
final class QsparkCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  // Read by Cli before parsing (errors can happen before there is a parse result); declared
  // here so picocli accepts it anywhere on the line and documents it once.
  @Option(names = "--verbose", scope = ScopeType.INHERIT,
      description = "On errors, print the stack trace as well as the one-line message.")
  boolean verbose;

  // Also read by Cli before parsing: the file's values become the command's defaults.
  @Option(names = "--conf", scope = ScopeType.INHERIT, paramLabel = "FILE",
      description = "YAML file of option values by long name (method: mse, mean: [72.94]); a section named"
          + " after the command applies to it alone. Flags on the command line win. See conf/.")
  java.nio.file.Path conf;

  @Option(names = "--print-config", scope = ScopeType.INHERIT,
      description = "Print the effective settings (flags, --conf, defaults) as a config file and exit.")
  boolean printConfig;

  @Override
  public Integer call() {
    throw new ParameterException(spec.commandLine(), "missing command: one of "
        + String.join(", ", spec.subcommands().keySet()) + " (see qspark --help)");
  }
}

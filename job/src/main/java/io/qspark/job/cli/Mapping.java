package io.qspark.job.cli;

import io.qspark.job.app.Notices;
import java.io.PrintWriter;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** What every command does around the application layer: settings from options, warnings to stderr. */
final class Mapping {
  private Mapping() {}

  /** Settings made from options; a value the settings refuse is a usage error of the command. */
  static <T> T settings(CommandSpec spec, Supplier<T> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  /** Warnings as the command line shows them: "qspark: warning: ..." on stderr, as they arise. */
  static Notices notices(CommandSpec spec) {
    PrintWriter err = spec.commandLine().getErr();
    return message -> {
      err.println("qspark: warning: " + message);
      err.flush();
    };
  }
}

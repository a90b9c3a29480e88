package io.qspark.job.cli;

import io.qspark.job.base.JobFailure;
import io.qspark.job.base.UserError;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Parses a command line, runs the chosen command and turns every failure into one line on
 * stderr and an exit code (see {@link ExitCodes}): users run this from Airflow and scripts,
 * where a stack trace hides the one sentence that says what to fix.
 */
public final class Cli {
  private static final String PREFIX = "qspark: error: ";

  private Cli() {}

  /** The subcommands' names, in the order `qspark --help` lists them (help included). */
  public static List<String> commands() {
    CommandLine cl = new CommandLine(new QsparkCommand());
    for (Object c : Commands.all()) cl.addSubcommand(c);
    return List.copyOf(cl.getSubcommands().keySet());
  }

  public static int run(String[] args, PrintStream out, PrintStream err) {
    PrintWriter o = new PrintWriter(out, true);
    PrintWriter e = new PrintWriter(err, true);
    // decided from the raw line: a usage error may come before any parse result exists
    boolean verbose = Arrays.asList(args).contains("--verbose");
    CommandLine cl = new CommandLine(new QsparkCommand());
    for (Object c : Commands.all()) cl.addSubcommand(c);
    cl.setOut(o);
    cl.setErr(e);
    cl.setParameterExceptionHandler((ex, a) -> usageError(ex, e, verbose));
    cl.setExecutionExceptionHandler((ex, c, parsed) -> failure(ex, e, verbose));
    LogLevels levels = verbose ? LogLevels.showSparkFailures() : null;
    try {
      ConfigFile conf = applyConf(cl, args);
      cl.setExecutionStrategy(parsed -> {
        CommandLine.ParseResult last = parsed;
        while (last.hasSubcommand()) last = last.subcommand();
        if (last.hasMatchedOption("--print-config")) {
          o.print(ConfigFile.effective(last.commandSpec(), conf));
          o.flush();
          return ExitCodes.OK;
        }
        return new CommandLine.RunLast().execute(parsed);
      });
      return cl.execute(args);
    } catch (Throwable t) { // Errors (out of memory) bypass picocli's handlers
      return failure(t, e, verbose);
    } finally {
      if (levels != null) levels.close();
      o.flush();
      e.flush();
    }
  }

  /**
   * Finds the command and a --conf FILE on the raw line (defaults must be in place before
   * picocli parses) and makes the file's values that command's defaults.
   */
  private static ConfigFile applyConf(CommandLine cl, String[] args) {
    String file = null;
    CommandLine command = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--")) break;
      if (args[i].equals("--conf") && i + 1 < args.length) file = args[++i];
      else if (args[i].startsWith("--conf=")) file = args[i].substring("--conf=".length());
      else if (command == null && cl.getSubcommands().containsKey(args[i])) command = cl.getSubcommands().get(args[i]);
    }
    if (file == null || command == null) return null;
    ConfigFile conf = ConfigFile.load(java.nio.file.Path.of(file), command, cl.getSubcommands().keySet());
    command.setDefaultValueProvider(conf.provider());
    return conf;
  }

  private static int usageError(ParameterException ex, PrintWriter err, boolean verbose) {
    StringBuilder msg = new StringBuilder(oneLine(ex.getMessage()));
    if (ex instanceof UnmatchedArgumentException) {
      List<String> s = ((UnmatchedArgumentException) ex).getSuggestions();
      if (!s.isEmpty()) msg.append("; did you mean ").append(String.join(" or ", s)).append('?');
    }
    String cmd = ex.getCommandLine().getCommandSpec().qualifiedName();
    if (!msg.toString().contains("--help")) msg.append(" (see ").append(cmd).append(" --help)");
    return report(msg.toString(), ex, ExitCodes.BAD_INPUT, err, verbose);
  }

  /** Exit code and message for anything a command threw. */
  static int failure(Throwable t, PrintWriter err, boolean verbose) {
    // after SIGTERM/SIGINT whatever broke (a cancelled job, an interrupted read) broke because of it
    if (StopSignals.received() != null) {
      return report("stopped by " + StopSignals.received() + "; the output was not written", t, StopSignals.exitCode(), err, verbose);
    }
    Throwable user = UserError.findIn(t);
    if (user != null) return report(oneLine(user.getMessage()), t, ExitCodes.BAD_INPUT, err, verbose);
    if (t instanceof JobFailure) return report(oneLine(t.getMessage()), t, ExitCodes.JOB_FAILED, err, verbose);
    if (t instanceof OutOfMemoryError) {
      return report("out of memory in the driver (" + t.getMessage() + "); give it more with"
          + " QSPARK_JAVA_OPTS=-Xmx8g for bin/qspark or --driver-memory for spark-submit",
          t, ExitCodes.JOB_FAILED, err, verbose);
    }
    String hint = verbose ? "" : " (rerun with --verbose for the stack trace)";
    return report("internal error: " + oneLine(String.valueOf(t)) + hint, t, ExitCodes.INTERNAL, err, verbose);
  }

  private static int report(String message, Throwable t, int code, PrintWriter err, boolean verbose) {
    err.println(PREFIX + message);
    if (verbose) t.printStackTrace(err);
    err.flush();
    return code;
  }

  static String oneLine(String message) {
    if (message == null || message.isBlank()) return "(no message)";
    return message.strip().replaceAll("\\s*\\R\\s*", " ");
  }
}

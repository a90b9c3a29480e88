package io.qspark.job.cli;

import io.qspark.dpu.DumpComparison;
import io.qspark.dpu.DumpException;
import io.qspark.job.base.UserError;
import io.qspark.job.output.DumpFolder;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `qspark compare-dumps A B`: two golden per-layer dumps, layer by layer. */
@Command(name = "compare-dumps", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Compares two golden per-layer dumps (simulate --dump, or a board's or another tool's dump in the same"
        + " layout, dpu-sim/README.md) layer by layer in execution order, over the images both hold: prints the first"
        + " layer whose integers or fix_point differ, how many values differ, the largest difference and where the first"
        + " one is (image and NCHW position), then every differing layer. No Spark.",
        "Exit code 0 when the dumps agree, 4 when they differ, 2 for dumps of different models or layouts."})
final class CompareDumpsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "A", description = "A dump folder (local or on any Hadoop file system).")
  String a;

  @Parameters(index = "1", paramLabel = "B", description = "The dump to compare it with.")
  String b;

  @Override
  public Integer call() {
    DumpComparison c;
    try {
      c = DumpComparison.of(DumpFolder.open(a), DumpFolder.open(b));
    } catch (DumpException e) {
      throw new UserError(e.getMessage(), e);
    }
    PrintWriter o = spec.commandLine().getOut();
    o.print(c.report());
    o.flush();
    return c.firstDifference() == null ? ExitCodes.OK : ExitCodes.GATE_FAILED;
  }
}

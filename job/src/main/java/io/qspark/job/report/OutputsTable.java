package io.qspark.job.report;

import io.qspark.kernels.quant.OutputFidelity;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;

/**
 * Every output's fidelity against the float model, as the console shows it: a table (SQNR,
 * cosine similarity, largest absolute difference per output) and, for scripts, one line per
 * output {@code sqnr <name>: <dB>}.
 */
public final class OutputsTable {
  private OutputsTable() {}

  /** The table, headed by what was compared ("quantized", "simulated"). */
  public static void print(PrintWriter out, String compared, Map<String, OutputFidelity.Figures> outputs) {
    if (outputs.isEmpty()) return;
    TextTable t = new TextTable("output", "values>", "SQNR dB>", "cosine>", "max |diff|>");
    outputs.forEach((name, f) -> t.row(name, f.values(), db(f.sqnrDb()), String.format(Locale.ROOT, "%.6f", f.cosine()),
        String.format(Locale.ROOT, "%.4g", f.maxAbsDiff())));
    out.println(compared + " outputs against float:");
    t.print(out);
    out.println();
  }

  /** {@code sqnr <name>: <dB>} per output ("inf" where the outputs are identical). */
  public static void sqnrLines(PrintWriter out, Map<String, OutputFidelity.Figures> outputs) {
    outputs.forEach((name, f) -> out.println("sqnr " + name + ": " + db(f.sqnrDb())));
  }

  /** The lowest SQNR over the outputs. */
  public static double worst(Map<String, OutputFidelity.Figures> outputs) {
    return outputs.values().stream().mapToDouble(OutputFidelity.Figures::sqnrDb).min().orElse(Double.NaN);
  }

  static String db(double v) {
    return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%.2f", v);
  }
}

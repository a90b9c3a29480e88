package io.qspark.job.report;

import io.qspark.job.eval.EvalCounts;
import java.io.PrintWriter;
import io.qspark.kernels.quant.OutputFidelity;
import java.util.Locale;
import java.util.Map;

/**
 * The end of `evaluate`: what ran where, per-class and overall accuracy, a quantized model's
 * outputs against float (with a line `sqnr <name>: <dB>` each), and as the last line
 * `top1: <percent>` for scripts (`min sqnr: <dB>` for a model that is not a classifier).
 */
public record EvaluationReport(String model, String data, String preprocessing, String spark,
    EvalCounts counts, double seconds) {

  public void print(PrintWriter out) {
    print(out, Map.of());
  }

  /** The same with a quantized model's outputs against float: their table, then a line {@code sqnr <name>: <dB>} each. */
  public void print(PrintWriter out, Map<String, OutputFidelity.Figures> outputs) {
    printTable(out);
    OutputsTable.print(out, "quantized", outputs);
    // top-5 says nothing when there are at most five classes
    if (counts.classes() > 5) out.println("top5: " + pct(counts.top5Percent()));
    if (!Double.isNaN(counts.agreementPercent())) out.println("agreement with float: " + pct(counts.agreementPercent()));
    OutputsTable.sqnrLines(out, outputs);
    out.println("top1: " + pct(counts.top1Percent()));
  }

  /**
   * The end of `evaluate` for a quantized model that is not a classifier: what ran where, every
   * output's fidelity against float, a line {@code sqnr <name>: <dB>} per output and, last,
   * {@code min sqnr: <dB>} (the worst output).
   */
  public static void printFidelity(PrintWriter out, String model, String data, String preprocessing, String spark, long images,
      double seconds, Map<String, OutputFidelity.Figures> outputs) {
    header(out, model, data, preprocessing, spark, images, seconds);
    OutputsTable.print(out, "quantized", outputs);
    OutputsTable.sqnrLines(out, outputs);
    out.println("min sqnr: " + OutputsTable.db(OutputsTable.worst(outputs)));
  }

  /** Everything but the closing summary lines, for commands that end with lines of their own. */
  public void printTable(PrintWriter out) {
    long n = counts.images();
    header(out, model, data, preprocessing, spark, n, seconds);
    TextTable t = new TextTable("class>", "images>", "correct>", "top-1 %>");
    for (int c = 0; c < counts.classes(); c++) {
      long k = counts.images(c);
      t.row(c, k, counts.top1(c), k == 0 ? "-" : pct(100.0 * counts.top1(c) / k));
    }
    t.row("all", n, counts.top1(), pct(counts.top1Percent()));
    t.print(out);
    out.println();
  }

  /** What ran on what, where and how fast: the lines every scoring command starts with. */
  public static void header(PrintWriter out, String model, String data, String preprocessing, String spark, long images,
      double seconds) {
    TextTable.keyValues(out, new String[][] {
        {"model", model},
        {"data", data},
        {"preprocessing", preprocessing},
        {"spark", spark},
        {"time", String.format(Locale.ROOT, "%.1f s, %.0f images/s", seconds, images / Math.max(seconds, 1e-9))}});
    out.println();
  }

  static String pct(double p) {
    return String.format(Locale.ROOT, "%.2f", p);
  }
}

package io.qspark.job.report;

import io.qspark.job.eval.SegmentationCounts;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * mIoU against label masks as the console shows it: IoU per class (the float model's and, when
 * a quantized or simulated model was scored, its), then for scripts {@code float miou: <percent>}
 * (when there is a quantized model) and {@code miou: <percent>} of the scored model.
 */
public final class SegmentationTable {
  private SegmentationTable() {}

  /**
   * @param floatCounts the float model's counts
   * @param scored the quantized or simulated model's counts, or null when only the float model was scored
   * @param compared what {@code scored} is ("quantized", "simulated")
   */
  public static void print(PrintWriter out, String output, SegmentationCounts floatCounts, SegmentationCounts scored,
      String compared) {
    TextTable t = scored == null ? new TextTable("class>", "float IoU %>") : new TextTable("class>", "float IoU %>",
        compared + " IoU %>");
    for (int c = 0; c < floatCounts.classes(); c++) {
      if (scored == null) t.row(c, pct(floatCounts.iou(c)));
      else t.row(c, pct(floatCounts.iou(c)), pct(scored.iou(c)));
    }
    if (scored == null) t.row("mean", pct(floatCounts.miou()));
    else t.row("mean", pct(floatCounts.miou()), pct(scored.miou()));
    out.println("IoU of output " + output + " against the label masks (" + floatCounts.pixels() + " pixels; '-': class"
        + " neither labelled nor predicted):");
    t.print(out);
    out.println();
  }

  public static void miouLines(PrintWriter out, SegmentationCounts floatCounts, SegmentationCounts scored) {
    if (scored != null) out.println("float miou: " + pct(floatCounts.miou()));
    out.println("miou: " + pct((scored == null ? floatCounts : scored).miou()));
  }

  /** A fraction as a percentage with two decimals, '-' for NaN. */
  public static String pct(double fraction) {
    return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.2f", 100 * fraction);
  }
}

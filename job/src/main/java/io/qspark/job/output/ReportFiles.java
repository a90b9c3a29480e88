package io.qspark.job.output;

import io.qspark.job.report.HtmlReport;

/** report.json and report.html, the two report files of every output folder. */
public final class ReportFiles {
  public static final String JSON = "report.json";
  public static final String HTML = "report.html";

  private ReportFiles() {}

  /**
   * Writes report.json and report.html into the folder (before its commit).
   *
   * @param quantInfoJson the folder's quant_info.json text, or null
   */
  public static void write(AtomicFolder folder, String title, String reportJson, String quantInfoJson) {
    folder.write(JSON, reportJson);
    folder.write(HTML, HtmlReport.render(title, reportJson, quantInfoJson));
  }
}

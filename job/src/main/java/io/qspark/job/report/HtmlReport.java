package io.qspark.job.report;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The report page: the same data as report.json (and the folder's quant_info.json, for weight
 * ranges), drawn by a page that needs nothing but itself: CSS, script and data inline, charts
 * as SVG made in the browser, no network. Output folders write the page beside report.json from
 * the same text, so the page always shows what report.json says.
 */
public final class HtmlReport {
  private static final String TEMPLATE = template();

  private HtmlReport() {}

  /**
   * @param title the page title, e.g. "qspark calibrate: resnet_s.onnx"
   * @param reportJson report.json's text
   * @param quantInfoJson quant_info.json's text, or null when the folder has none
   */
  public static String render(String title, String reportJson, String quantInfoJson) {
    return TEMPLATE.replace("/*TITLE*/", escapeHtml(title))
        .replace("/*QUANT_INFO_JSON*/", scriptSafe(quantInfoJson == null ? "null" : quantInfoJson.strip()))
        .replace("/*REPORT_JSON*/", scriptSafe(reportJson.strip()));
  }

  /**
   * JSON inside a script element, where "</script" or "<!--" would change how the page parses:
   * '<' occurs in JSON only inside strings, where \u003c is the same character.
   */
  static String scriptSafe(String json) {
    return json.replace("<", "\\u003c");
  }

  static String escapeHtml(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String template() {
    try (InputStream in = HtmlReport.class.getResourceAsStream("report-page.html")) {
      if (in == null) throw new IllegalStateException("the report page template is missing from the jar");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

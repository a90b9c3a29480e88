package io.qspark.job.output;

import io.qspark.job.base.UserError;
import io.qspark.job.report.HtmlReport;
import io.qspark.kernels.io.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * report.json and report.html, the report files of every output folder (and, beside a single
 * output file, OUT.report.json and OUT.report.html). The page is rendered from the same text
 * as report.json, so both always say the same.
 */
public final class ReportFiles {
  static final String JSON = "report.json";
  static final String HTML = "report.html";

  private ReportFiles() {}

  /** Writes report.json and report.html into the folder (before its commit); quantInfoJson may be null. */
  static void write(AtomicFolder folder, String title, String reportJson, String quantInfoJson) {
    folder.write(JSON, reportJson);
    folder.write(HTML, HtmlReport.render(title, reportJson, quantInfoJson));
  }

  /** A folder's report.json, when it has one. */
  @SuppressWarnings("unchecked")
  static Optional<Map<String, Object>> read(JobFolder dir) {
    if (!dir.isFile(JSON)) return Optional.empty();
    try {
      return Optional.of((Map<String, Object>) Json.read(dir.readString(JSON)));
    } catch (RuntimeException e) {
      throw new UserError(dir.shown() + "/" + JSON + " is not valid JSON: " + e.getMessage(), e);
    }
  }

  /** A folder's report.json as written, when it has one. */
  static Optional<String> readText(JobFolder dir) {
    return dir.isFile(JSON) ? Optional.of(dir.readString(JSON)) : Optional.empty();
  }

  /** OUT.report.json beside the output file OUT (its .prototxt extension dropped). */
  public static Path jsonBeside(Path file) {
    return beside(file, "." + JSON);
  }

  /** OUT.report.html beside the output file OUT. */
  public static Path htmlBeside(Path file) {
    return beside(file, "." + HTML);
  }

  /** Checks, before any work, that the reports beside {@code file} may be written. */
  public static void checkWritableBeside(Path file, boolean overwrite) {
    AtomicFile.checkWritable(jsonBeside(file), overwrite);
    AtomicFile.checkWritable(htmlBeside(file), overwrite);
  }

  /** Writes OUT.report.json and OUT.report.html beside {@code file}, each atomically. */
  public static void writeBeside(Path file, String title, String reportJson, String quantInfoJson, boolean overwrite) {
    AtomicFile.write(jsonBeside(file), reportJson.getBytes(StandardCharsets.UTF_8), overwrite);
    AtomicFile.write(htmlBeside(file), HtmlReport.render(title, reportJson, quantInfoJson).getBytes(StandardCharsets.UTF_8),
        overwrite);
  }

  private static Path beside(Path file, String suffix) {
    return file.resolveSibling(file.getFileName().toString().replaceFirst("\\.prototxt$", "") + suffix);
  }
}

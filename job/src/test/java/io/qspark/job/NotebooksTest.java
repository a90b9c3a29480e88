package io.qspark.job;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The notebooks in notebooks/, executed by Debian's jupyter-nbconvert (its kernel is Debian's
 * /usr/bin/python3 with pandas and matplotlib, not the python3 first on PATH) on folders this
 * suite's calibrate runs wrote; nbconvert fails on any cell's exception. The executed copies
 * go to target/notebooks.
 */
@Tag("slow")
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class NotebooksTest {
  static final String NBCONVERT = "/usr/bin/jupyter-nbconvert";
  static final Path NOTEBOOKS = Path.of("..", "notebooks").toAbsolutePath().normalize();
  static final Path OUT = Path.of("target", "notebooks").toAbsolutePath();

  /** Runs one notebook on the folders; returns every text its cells printed or displayed as plain text. */
  @SuppressWarnings("unchecked")
  static String execute(String notebook, String name, Path... runs) throws Exception {
    assertTrue(Files.isExecutable(Path.of(NBCONVERT)), NBCONVERT + " is missing: apt-get install jupyter-nbconvert"
        + " python3-ipykernel python3-matplotlib python3-pandas (.ci/run does)");
    Files.createDirectories(OUT);
    List<String> cmd = List.of(NBCONVERT, "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=python3",
        "--output-dir", OUT.toString(), "--output", name, NOTEBOOKS.resolve(notebook).toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(NOTEBOOKS.toFile());
    List<String> paths = new ArrayList<>();
    for (Path r : runs) paths.add(r.toString());
    pb.environment().put("QSPARK_RUNS", String.join(File.pathSeparator, paths));
    pb.environment().put("PATH", "/usr/bin:/bin");
    pb.environment().put("PYDEVD_DISABLE_FILE_VALIDATION", "1");
    Process p = pb.start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), log);
    Map<String, Object> nb = (Map<String, Object>) Json.read(Files.readString(OUT.resolve(name + ".ipynb")));
    StringBuilder text = new StringBuilder();
    int images = 0;
    for (Object c : (List<Object>) nb.get("cells")) {
      Map<String, Object> cell = (Map<String, Object>) c;
      if (!"code".equals(cell.get("cell_type"))) continue;
      for (Object o : (List<Object>) cell.get("outputs")) {
        Map<String, Object> out = (Map<String, Object>) o;
        assertTrue(!"error".equals(out.get("output_type")), notebook + ": " + out);
        if (out.get("text") != null) text.append(join(out.get("text")));
        Map<String, Object> data = (Map<String, Object>) out.get("data");
        if (data != null && data.get("text/plain") != null) text.append(join(data.get("text/plain"))).append('\n');
        if (data != null && data.get("image/png") != null) images++;
      }
    }
    text.append("\n[images: ").append(images).append("]\n");
    return text.toString();
  }

  private static String join(Object v) {
    return v instanceof List<?> l ? String.join("", l.stream().map(String::valueOf).toList()) : String.valueOf(v);
  }

  /** Also on a QAT folder, whose report.json holds its settings as JSON (it once held Java's toString and broke the notebook). */
  @Test
  void compareRunsTabulatesAndPlotsMethodsAndBitWidths() throws Exception {
    ReportRuns runs = ReportRuns.get();
    runs.qat();
    String text = execute("compare_runs.ipynb", "compare_runs", runs.calib8, runs.calib6, runs.sim, runs.qat);
    assertTrue(text.contains("4 run(s): int8-mse, int6-maxmin, int8-mse-simulate, qat-w4a4"), text);
    // the settings table names both methods and widths
    assertTrue(text.contains("mse") && text.contains("maxmin"), text);
    assertTrue(text.matches("(?s).*activation points, [1-9]\\d* with different fix_points across runs.*"), text);
    assertTrue(text.contains("[images: 3]"), "top-1 bars, SQNR lines and one layer's thresholds:\n" + text);
  }

  /** Without a history the QAT notebook says so; with a real qat run's folder it plots its loss and top-1. */
  @Test
  void qatCurvesHandleMissingAndPresentHistories() throws Exception {
    ReportRuns runs = ReportRuns.get();
    String none = execute("qat_curves.ipynb", "qat_curves_none", runs.calib8);
    assertTrue(none.contains("no QAT history found"), none);
    assertTrue(none.contains("[images: 0]"), none);
    String top1 = runs.qat();
    Path qat = runs.qat;
    String some = execute("qat_curves.ipynb", "qat_curves", runs.calib8, qat);
    assertTrue(some.contains("1 QAT run(s): qat-w4a4"), some);
    assertTrue(some.contains("[images: 2]"), "loss and top-1 curves:\n" + some);
    // the summary's best validation top-1 is the run's
    String best = String.valueOf(Double.parseDouble(top1));
    assertTrue(some.contains(best), "best validation top-1 " + best + " in the summary:\n" + some);
  }
}

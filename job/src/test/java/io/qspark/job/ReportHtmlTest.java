package io.qspark.job;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.report.HtmlReport;
import io.qspark.kernels.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report.html of calibrate, deploy and simulate, opened in headless Chromium: it renders without
 * a script error, shows one histogram per activation point, one SQNR bar per layer, one range
 * per weight, every node's unit, and the top-1 figures of report.json. Screenshots go to
 * target/report-*.png. The report's figures are the same for any partitioning.
 */
@Tag("slow")
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ReportHtmlTest {
  @TempDir static Path dir;
  static Path calib, deploy, sim;
  /** The marker the page's script sets on its last line. */
  static final Pattern RENDERED = Pattern.compile("<body[^>]* data-rendered=\"ok\"");

  @BeforeAll
  static void runPipeline() {
    ReportRuns runs = ReportRuns.get();
    calib = runs.calib8;
    deploy = runs.deploy;
    sim = runs.sim;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> json(Path file) throws Exception {
    return (Map<String, Object>) Json.read(Files.readString(file));
  }

  static int count(String dom, String regex) {
    Matcher m = Pattern.compile(regex).matcher(dom);
    int n = 0;
    while (m.find()) n++;
    return n;
  }

  static String rendered(Path folder, String screenshot) throws Exception {
    Path page = folder.resolve("report.html");
    String html = Files.readString(page);
    assertFalse(Pattern.compile("(src|href)=\"?(https?:)?//").matcher(html).find(), "the page must not load anything");
    String dom = HeadlessChromium.dom(page, dir.resolve("profile"));
    assertTrue(RENDERED.matcher(dom).find(), "the page's script did not finish:\n" + dom);
    assertTrue(dom.contains("<pre id=\"js-errors\"></pre>"), "script errors:\n" + dom);
    Path png = Path.of("target", screenshot);
    Files.createDirectories(png.getParent());
    HeadlessChromium.screenshot(page, png, dir.resolve("profile"));
    return dom;
  }

  static String pct(Object v) {
    return String.format(Locale.ROOT, "%.2f%%", ((Number) v).doubleValue());
  }

  @Test
  @SuppressWarnings("unchecked")
  void calibrationReportShowsEveryLayerAndTheTop1() throws Exception {
    String dom = rendered(calib, "report-calibrate.png");
    Map<String, Object> report = json(calib.resolve("report.json"));
    Map<String, Object> info = json(calib.resolve("quant_info.json"));
    int points = ((List<Object>) info.get("activations")).size();
    assertEquals(points, ((List<Object>) report.get("activation_histograms")).size());
    assertEquals(points, count(dom, "<svg class=\"histogram\""));
    assertTrue(count(dom, "class=\"threshold\"") >= points, "a threshold line per histogram");
    assertEquals(((List<Object>) report.get("layers")).size(), count(dom, "class=\"sqnr-bar"));
    long weights = ((List<Map<String, Object>>) info.get("params")).stream().filter(p -> p.get("role").equals("weight")).count();
    assertEquals(weights, count(dom, "<g class=\"weight-range\""));
    Map<String, Object> partition = (Map<String, Object>) report.get("partition");
    assertEquals(((List<Object>) partition.get("nodes")).size(), count(dom, "<td class=\"(dpu|cpu)\">"));
    Map<String, Object> acc = (Map<String, Object>) report.get("accuracy_on_calibration_set");
    assertTrue(dom.contains("id=\"float-top1\">" + pct(acc.get("float_top1")) + "<"), dom);
    assertTrue(dom.contains("id=\"quant-top1\">" + pct(acc.get("quant_top1")) + "<"), dom);
    assertTrue(count(dom, "class=\"stage-bar") >= 4, "load, statistics, decide and error-pass timings");
  }

  /**
   * A QAT folder's page: a point per logged step on the loss curve, the validation top-1 of
   * every epoch and the PTQ top-1 it started from, the epochs' table, and the histograms of the
   * calibration it started from, one per activation point.
   */
  @Test
  @SuppressWarnings("unchecked")
  void qatReportShowsTheTrainingCurvesAndItsCalibration() throws Exception {
    ReportRuns runs = ReportRuns.get();
    runs.qat();
    String dom = rendered(runs.qat, "report-qat.png");
    Map<String, Object> report = json(runs.qat.resolve("report.json"));
    List<Map<String, Object>> curve = (List<Map<String, Object>>) report.get("curve");
    List<Map<String, Object>> epochs = (List<Map<String, Object>>) report.get("history");
    assertEquals(2, curve.size(), "128 images in batches of 64, a row per step");
    assertEquals(curve.size(), count(dom, "class=\"point loss\""));
    assertEquals(curve.size(), count(dom, "class=\"point train-top1\""));
    assertEquals(epochs.size(), count(dom, "class=\"point val-top1\""));
    assertEquals(1, count(dom, "class=\"point ptq-top1\""));
    assertTrue(dom.contains("<td>" + pct(epochs.get(0).get("val_top1")) + "</td>"), dom);
    Map<String, Object> info = json(runs.qat.resolve("quant_info.json"));
    int points = ((List<Object>) info.get("activations")).size();
    assertEquals(points, count(dom, "<svg class=\"histogram\""));
  }

  @Test
  @SuppressWarnings("unchecked")
  void deployAndSimulateReportsCarryTheCalibrationAndTheSimulatedTop1() throws Exception {
    String dom = rendered(deploy, "report-deploy.png");
    int points = ((List<Object>) json(calib.resolve("quant_info.json")).get("activations")).size();
    assertEquals(points, count(dom, "<svg class=\"histogram\""), "the calibration's histograms");
    assertTrue(dom.contains("id=\"partition-summary\""), dom);
    String simDom = rendered(sim, "report-simulate.png");
    Map<String, Object> s = (Map<String, Object>) json(sim.resolve("report.json")).get("simulation");
    assertEquals(0L, s.get("mismatches"));
    assertTrue(simDom.contains("id=\"sim-top1\">" + pct(s.get("top1")) + "<"), simDom);
    assertTrue(simDom.contains("id=\"sim-mismatches\">0<"), simDom);
  }

  /** The marker the tests read is set only when the script ran to its end. */
  @Test
  void aScriptErrorShowsOnThePage() throws Exception {
    Path page = dir.resolve("broken.html");
    Files.writeString(page, HtmlReport.render("broken </title><script>", "{\"activation_histograms\": [{\"tensor\": \"x\"}]}", null));
    String dom = HeadlessChromium.run(dir.resolve("profile"), "--dump-dom", page.toUri().toString()).stdout();
    assertFalse(RENDERED.matcher(dom).find(), dom);
    assertTrue(dom.contains("<pre id=\"js-errors\">error: "), dom);
    assertTrue(dom.contains("<title>broken &lt;/title&gt;&lt;script&gt;</title>"), dom);
  }

  /** Exact sums and exactly merged histograms: the report's figures do not depend on the partitioning. */
  @Test
  void reportFiguresAreTheSameForAnyPartitioning() throws Exception {
    Path other = dir.resolve("calib-1");
    Run c = ReportRuns.calibrate(other, "--master", "local[1]", "--partitions", "1", "--batch", "17");
    assertEquals(0, c.code(), c.err());
    Map<String, Object> a = json(calib.resolve("report.json")), b = json(other.resolve("report.json"));
    for (String key : List.of("layers", "median_sqnr_db", "activation_histograms", "accuracy_on_calibration_set", "partition")) {
      assertEquals(Json.write(a.get(key)), Json.write(b.get(key)), key);
    }
  }
}

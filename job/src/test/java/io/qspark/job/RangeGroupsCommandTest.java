package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.data.Idx;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `calibrate --range-groups 4` on the bundled sample (resnet_s, W4A4, its first 64 images):
 * quant_info.json is byte-identical for 1, 3 and 8 partitions (3: runs cut by partitions; 8:
 * every run spread over two tasks), and its activation fix_points are what this test computes
 * in one JVM without Spark: each run of 16 images through the float model on its own, each
 * point's fix_point by the method on that run's histogram, the smallest over the four, then
 * legalized as any calibration; report.json and report.html (in headless Chromium) list the points
 * widened. Bad values are one-line errors.
 */
class RangeGroupsCommandTest {
  private static final int IMAGES = 64, GROUPS = 4;

  private static List<String> calibrate(Path out, String... more) {
    return SensitivityCommandTest.args("calibrate", out, more);
  }

  @Test
  @Timeout(600)
  @SuppressWarnings("unchecked")
  void widestRunChoicesDoNotDependOnPartitionsAndMatchOneJvm(@TempDir Path dir) throws Exception {
    Map<Integer, byte[]> infos = new LinkedHashMap<>();
    String summary = null;
    for (int p : new int[] {1, 3, 8}) {
      Path out = dir.resolve("p" + p);
      Run r = Run.of(calibrate(out, "--range-groups", Integer.toString(GROUPS), "--partitions", Integer.toString(p))
          .toArray(String[]::new));
      assertEquals(0, r.code(), r.err());
      infos.put(p, Files.readAllBytes(out.resolve("quant_info.json")));
      summary = r.out();
    }
    assertTrue(summary.contains("range groups") && summary.contains("activation ranges widened"), summary);
    assertArrayEquals(infos.get(1), infos.get(3));
    assertArrayEquals(infos.get(1), infos.get(8));
    Path plain = dir.resolve("plain");
    Run r = Run.of(calibrate(plain).toArray(String[]::new));
    assertEquals(0, r.code(), r.err());

    Map<String, Integer> expected = oneJvm();
    Map<String, Integer> got = activationFixPoints(infos.get(1));
    assertEquals(expected, got);
    Map<String, Integer> plainFps = activationFixPoints(Files.readAllBytes(plain.resolve("quant_info.json")));
    assertNotEquals(plainFps, got, "on these images some run asks for a wider range than all of them together");
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(dir.resolve("p1").resolve("report.json")));
    Map<String, Object> groups = (Map<String, Object>) report.get("range_groups");
    List<Map<String, Object>> widened = (List<Map<String, Object>>) groups.get("widened_points");
    assertEquals(((Number) groups.get("widened")).intValue(), widened.size());
    assertFalse(widened.isEmpty(), groups.toString());
    for (Map<String, Object> w : widened) {
      // a widened point's chosen fix_point is below the all-images choice (before the DPU's legalization)
      assertTrue(((Number) w.get("fix_point")).intValue() < ((Number) w.get("fix_point_all_images")).intValue(), w.toString());
    }
    // report.html as a browser shows it: a row per widened point
    String dom = HeadlessChromium.dom(dir.resolve("p1").resolve("report.html"), dir.resolve("chromium-profile"));
    assertTrue(ReportHtmlTest.RENDERED.matcher(dom).find(), "the page's script did not finish:\n" + dom);
    String table = dom.substring(dom.indexOf("id=\"range-groups-widened\""));
    table = table.substring(0, table.indexOf("</table>"));
    assertEquals(widened.size() + 1, table.split("<tr", -1).length - 1, "a header and a row per widened point:\n" + table);
    assertTrue(table.contains("<td>" + widened.get(0).get("point") + "</td>"), table);
    String provenance = Json.write(report.get("provenance"));
    assertTrue(provenance.contains("\"range_groups\":4") || provenance.contains("\"range_groups\": 4"), provenance);
  }

  /** resnet_s exported with a fixed batch of 1 makes the same run choices as the dynamic export. */
  @Test
  @Timeout(600)
  void aFixedBatchExportChoosesTheSame(@TempDir Path dir) throws Exception {
    Path fixed = dir.resolve("static"), dynamic = dir.resolve("dynamic");
    List<String> a = calibrate(fixed, "--range-groups", "3");
    a.set(a.indexOf("--model") + 1, RealWorldModelsTest.model("resnet_s_static1"));
    Run r = Run.of(a.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    Run d = Run.of(calibrate(dynamic, "--range-groups", "3").toArray(String[]::new));
    assertEquals(0, d.code(), d.err());
    assertEquals(FixedBatchCliTest.fixPoints(dynamic.resolve("quant_info.json")), FixedBatchCliTest.fixPoints(fixed.resolve("quant_info.json")));
  }

  /** The expected fix_points: the runs' choices by the kernels alone, the widest of them, legalized. */
  private static Map<String, Integer> oneJvm() throws Exception {
    Graph g = Model.load(Path.of(Run.sampleModel())).forInference().graph();
    QuantConfig cfg = QuantConfig.defaults().withBits(4);
    QuantPlan plan = QuantPlan.of(g, cfg);
    float[] x;
    try (InputStream in = Files.newInputStream(Path.of(Run.sampleImages()))) {
      Idx.Array a = Idx.read(in, "sample", IMAGES);
      x = new float[a.data().length];
      for (int i = 0; i < x.length; i++) x[i] = ((a.data()[i] & 0xff) - 72.94f) / 90.02f;
    }
    int per = IMAGES / GROUPS;
    ActivationStats whole = new ActivationStats();
    Map<String, FixPoint> widest = new HashMap<>();
    for (int run = 0; run < GROUPS; run++) {
      ActivationStats s = new ActivationStats();
      float[] part = java.util.Arrays.copyOfRange(x, run * per * 784, (run + 1) * per * 784);
      new Executor(g).run(Map.of(g.inputs().get(0).name(), Tensor.of(part, per, 1, 28, 28)), s.observer(plan), false);
      for (QuantPlan.ActivationPoint a : plan.activations()) {
        FixPoint f = QuantParams.activation(g, a, s.histograms().get(a.name()), cfg);
        widest.merge(a.name(), f, (u, v) -> u.fixPoint() <= v.fixPoint() ? u : v);
      }
      whole.merge(s);
    }
    QuantParams params = QuantParams.decide(g, plan, whole.histograms(), widest, cfg);
    Map<String, Integer> out = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) out.put(a.name(), params.activation(a.name()).fixPoint());
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Integer> activationFixPoints(byte[] quantInfo) {
    Map<String, Object> info = (Map<String, Object>) Json.read(new String(quantInfo, java.nio.charset.StandardCharsets.UTF_8));
    Map<String, Integer> out = new LinkedHashMap<>();
    for (Map<String, Object> a : (List<Map<String, Object>>) info.get("activations")) {
      out.put((String) a.get("name"), ((Number) a.get("fix_point")).intValue());
    }
    return out;
  }

  @Test
  void badRangeGroupsAreOneLineErrors(@TempDir Path dir) {
    String[][] bad = {{"--range-groups", "0"}, {"--range-groups", "2", "--sequential"}};
    String[] expected = {"--range-groups must be 1 to", "--range-groups chooses ranges in one statistics pass"};
    for (int i = 0; i < bad.length; i++) {
      Path out = dir.resolve("out" + i);
      Run.assertRefused(calibrate(out, bad[i]), out, expected[i]);
    }
  }
}

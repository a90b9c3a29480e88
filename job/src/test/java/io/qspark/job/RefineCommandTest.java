package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `calibrate --refine-rounds` on the bundled sample (resnet_s, W4A4, its first 64 images): the
 * objective the refinement reports before and after equals what `evaluate` measures on the
 * same images for the plain and the refined folder (another code path: the quantized model
 * loaded from quant_info.json); the refined model is not worse there and moved some fix_points;
 * quant_info.json is byte-identical for 1 and 3 partitions; bad settings are one-line errors.
 */
class RefineCommandTest {
  private static List<String> calibrate(Path out, String... more) {
    List<String> a = new ArrayList<>(SensitivityCommandTest.args("calibrate", out));
    a.addAll(List.of(more));
    return a;
  }

  private static double evaluatedSqnr(Path folder) {
    Run e = Run.of("evaluate", "--model", folder.toString(), "--data", Run.sampleImages(), "--limit", "32", "--master", "local[2]");
    assertEquals(0, e.code(), e.err());
    String line = e.out().lines().filter(l -> l.startsWith("sqnr logits:")).findFirst().orElseThrow(() -> new AssertionError(e.out()));
    return Double.parseDouble(line.substring("sqnr logits:".length()).trim().split("\\s+")[0]);
  }

  @Test
  @Timeout(900)
  @SuppressWarnings("unchecked")
  void refinementScoresWhatEvaluateMeasuresAndDoesNotDependOnPartitions(@TempDir Path dir) throws Exception {
    Path plain = dir.resolve("plain"), one = dir.resolve("one"), three = dir.resolve("three");
    Run p = Run.of(calibrate(plain).toArray(String[]::new));
    assertEquals(0, p.code(), p.err());
    Run r1 = Run.of(calibrate(one, "--refine-rounds", "2", "--refine-images", "32", "--partitions", "1").toArray(String[]::new));
    assertEquals(0, r1.code(), r1.err());
    Run r3 = Run.of(calibrate(three, "--refine-rounds", "2", "--refine-images", "32", "--partitions", "3").toArray(String[]::new));
    assertEquals(0, r3.code(), r3.err());
    assertArrayEquals(Files.readAllBytes(one.resolve("quant_info.json")), Files.readAllBytes(three.resolve("quant_info.json")));
    assertTrue(r1.out().contains("refinement"), r1.out());

    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(one.resolve("report.json")));
    Map<String, Object> ref = (Map<String, Object>) report.get("refinement");
    assertEquals(32L, ref.get("images_scored"));
    double before = ((Number) ref.get("before_db")).doubleValue(), after = ((Number) ref.get("after_db")).doubleValue();
    List<Map<String, Object>> rounds = (List<Map<String, Object>>) ref.get("rounds");
    assertFalse(rounds.isEmpty());
    // at W4A4 some move wins on these images: the refined model differs and scores higher
    assertTrue(((Number) ref.get("fix_points_moved")).intValue() > 0, ref.toString());
    assertTrue(after > before, ref.toString());
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(plain.resolve("quant_info.json")),
        Files.readAllBytes(one.resolve("quant_info.json"))));
    // the figures are evaluate's SQNR of the logits on the first 32 images (one output: its SQNR is the mean)
    assertEquals(evaluatedSqnr(plain), before, 0.006);
    assertEquals(evaluatedSqnr(one), after, 0.006);
    // report.html as a browser shows it: the objective before and after, as report.json has them
    String dom = HeadlessChromium.dom(one.resolve("report.html"), dir.resolve("chromium-profile"));
    assertTrue(ReportHtmlTest.RENDERED.matcher(dom).find(), "the page's script did not finish:\n" + dom);
    String section = dom.substring(dom.indexOf("<section id=\"refinement\""));
    section = section.substring(0, section.indexOf("</section>"));
    assertTrue(section.contains(String.format(java.util.Locale.ROOT, "%.2f / %.2f", before, after)), section);
    // every move it reports is in quant_info.json
    Map<String, Object> info = (Map<String, Object>) Json.read(Files.readString(one.resolve("quant_info.json")));
    Map<String, Object> last = rounds.get(rounds.size() - 1);
    for (Map<String, Object> m : (List<Map<String, Object>>) last.get("moves_kept")) {
      String key = "weights".equals(m.get("kind")) ? "params" : "activations";
      long fp = ((List<Map<String, Object>>) info.get(key)).stream().filter(x -> x.get("name").equals(m.get("point")))
          .map(x -> ((Number) x.get("fix_point")).longValue()).findFirst().orElseThrow();
      assertEquals(((Number) m.get("to")).longValue(), fp, m.toString());
    }
  }

  @Test
  void badRefinementSettingsAreOneLineErrors(@TempDir Path dir) {
    String[][] bad = {
        {"--refine-rounds", "-1"}, {"--refine-rounds", "2", "--refine-images", "0"},
        {"--refine-rounds", "1", "--scales", "float"}};
    String[] expected = {"--refine-rounds must be 0 to", "--refine-images must be at least 1", "--refine-rounds moves power-of-two"};
    for (int i = 0; i < bad.length; i++) {
      Path out = dir.resolve("out" + i);
      Run.assertRefused(calibrate(out, bad[i]), out, expected[i]);
    }
  }
}

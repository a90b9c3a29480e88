package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * calibrate --max-drop on resnet_s at W4A4 (biases at 8 bits, as the DPU adds them), on the
 * sample's first 300 labelled images: the points raised are listed on the console and in
 * report.json, recorded as layer rules in quant_info.json; `evaluate` of the folder (another
 * path: the quantized model loaded from quant_info.json) finds top-1 within the budget on the
 * same images; deploy + simulate follow the rules with mismatches: 0.
 */
@Tag("slow")
class AccuracyBudgetSparkTest {
  static final String MODEL = Shared.model("resnet_s.onnx").toString();

  @Test
  @Timeout(1800)
  @SuppressWarnings("unchecked")
  void maxDropRaisesTheCostliestPointsAndDeployFollows(@TempDir Path dir) throws Exception {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", MODEL, "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02",
        "--calib-size", "300", "--bits", "4", "--bias-bits", "8", "--max-drop", "1.0", "--out", calib.toString(),
        "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(calib.resolve("report.json")));
    Map<String, Object> budget = (Map<String, Object>) report.get("accuracy_budget");
    assertEquals(true, budget.get("met"), budget.toString());
    List<Map<String, Object>> raised = (List<Map<String, Object>>) budget.get("raised");
    assertFalse(raised.isEmpty(), "W4A4 loses far more than a point on resnet_s: " + budget);
    assertTrue(c.out().contains("accuracy budget") && c.out().contains("raised to 8 bits"), c.out());

    // every raised point is a rule after the config's own, and its point is at 8 bits by that rule
    Map<String, Object> info = (Map<String, Object>) Json.read(Files.readString(calib.resolve("quant_info.json")));
    List<Map<String, Object>> rules = (List<Map<String, Object>>) ((Map<String, Object>) info.get("config")).get("layers");
    assertEquals(raised.size(), rules.size(), rules.toString());
    List<Map<String, Object>> acts = (List<Map<String, Object>>) info.get("activations");
    List<Map<String, Object>> params = (List<Map<String, Object>>) info.get("params");
    for (int i = 0; i < raised.size(); i++) {
      Map<String, Object> r = raised.get(i);
      String label = "layers[" + i + "]";
      assertEquals(r.get("rule"), rules.get(i).get("match"));
      if (r.get("kind").equals("activation")) {
        Map<String, Object> a = acts.stream().filter(x -> x.get("name").equals(r.get("point"))).findFirst().orElseThrow();
        assertEquals(8L, a.get("bits"), a.toString());
        assertEquals(label, a.get("rule"), a.toString());
      } else {
        Map<String, Object> w = params.stream().filter(x -> x.get("name").equals(r.get("point"))).findFirst().orElseThrow();
        assertEquals(8L, w.get("bits"), w.toString());
        assertEquals(label, w.get("rule"), w.toString());
      }
    }
    long at4 = acts.stream().filter(a -> a.get("bits").equals(4L)).count()
        + params.stream().filter(p -> "weight".equals(p.get("role")) && p.get("bits").equals(4L)).count();
    assertTrue(at4 > 0, "some points stay at 4 bits");

    // the folder as evaluate scores it, on the same 300 images: within the budget of the float model's top-1
    Run fl = Run.of("evaluate", "--model", MODEL, "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02",
        "--limit", "300", "--master", "local[2]");
    Run q = Run.of("evaluate", "--model", calib.toString(), "--data", Run.sampleImages(), "--limit", "300", "--master", "local[2]");
    assertEquals(0, fl.code(), fl.err());
    assertEquals(0, q.code(), q.err());
    double f = top1(fl.out()), qt = top1(q.out());
    assertTrue(f - qt <= 1.0, "float " + f + " quantized " + qt);
    assertEquals(((Number) budget.get("float_top1")).doubleValue(), f, 0.006);
    assertEquals(((Number) ((Map<String, Object>) budget.get("after")).get("top1")).doubleValue(), qt, 0.006);

    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--limit", "300", "--master", "local[2]");
    assertEquals(0, s.code(), s.err());
    assertTrue(s.out().contains("mismatches: 0"), s.out());
  }

  /** The last line's "top1: 92.33". */
  static double top1(String out) {
    String[] lines = out.strip().split("\\R");
    String last = lines[lines.length - 1];
    assertTrue(last.startsWith("top1: "), out);
    return Double.parseDouble(last.substring("top1: ".length()).replace("%", "").strip());
  }
}

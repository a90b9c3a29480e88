package io.qspark.job;

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
 * `sensitivity` on the bundled sample (resnet_s, its first 64 images, W4A4): the model with every
 * point quantized scores what `calibrate`'s error pass finds for the same calibration (another
 * code path: the quantized model loaded from quant_info.json, the SQNR of its logits point);
 * the folder's files agree with each other; an existing --out is refused and left as it was.
 */
class SensitivityCommandTest {
  static List<String> args(String command, Path out, String... more) {
    List<String> a = new ArrayList<>(List.of(command, "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean",
        "72.94", "--std", "90.02", "--calib-size", "64", "--bits", "4", "--master", "local[2]", "--out", out.toString()));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  @Timeout(600)
  @SuppressWarnings("unchecked")
  void allQuantizedMatchesCalibratesErrorPassAndTheFilesAgree(@TempDir Path dir) throws Exception {
    Path cal = dir.resolve("calib"), sens = dir.resolve("sens");
    Run c = Run.of(args("calibrate", cal).toArray(String[]::new));
    assertEquals(0, c.code(), c.err());
    Run s = Run.of(args("sensitivity", sens, "--variants", "all-but", "--rows", "5").toArray(String[]::new));
    assertEquals(0, s.code(), s.err());

    Map<String, Object> cr = (Map<String, Object>) Json.read(Files.readString(cal.resolve("report.json")));
    Map<String, Object> acc = (Map<String, Object>) cr.get("accuracy_on_calibration_set");
    List<Map<String, Object>> layers = (List<Map<String, Object>>) cr.get("layers");
    double logitsDb = ((Number) layers.get(layers.size() - 1).get("sqnr_db")).doubleValue();
    assertEquals("logits", layers.get(layers.size() - 1).get("tensor"));

    Map<String, Object> sj = (Map<String, Object>) Json.read(Files.readString(sens.resolve("sensitivity.json")));
    Map<String, Object> all = (Map<String, Object>) sj.get("all_quantized");
    assertEquals(64L, sj.get("images"));
    assertEquals(((Number) acc.get("float_top1")).doubleValue(), ((Number) sj.get("float_top1")).doubleValue(), 1e-3);
    assertEquals(((Number) acc.get("quant_top1")).doubleValue(), ((Number) all.get("top1")).doubleValue(), 1e-3);
    assertEquals(100 * ((Number) acc.get("float_quant_agreement")).doubleValue(), ((Number) all.get("agreement")).doubleValue(), 1e-3);
    assertEquals(logitsDb, ((Number) all.get("output_sqnr_db")).doubleValue(), 1e-3);

    // --variants all-but: every point once, ranked by what keeping it float wins back
    List<Map<String, Object>> points = (List<Map<String, Object>>) sj.get("points");
    Map<String, Object> info = (Map<String, Object>) Json.read(Files.readString(cal.resolve("quant_info.json")));
    long weights = ((List<Map<String, Object>>) info.get("params")).stream().filter(p -> "weight".equals(p.get("role"))).count();
    assertEquals(((List<Object>) info.get("activations")).size() + weights, points.size());
    double prev = Double.POSITIVE_INFINITY;
    for (Map<String, Object> p : points) {
      assertFalse(p.containsKey("only_quantized"));
      double g = ((Number) ((Map<String, Object>) p.get("all_but_quantized")).get("top1_gain")).doubleValue();
      assertTrue(g <= prev, points.toString());
      prev = g;
    }
    List<String> csv = Files.readAllLines(sens.resolve("sensitivity.csv"));
    assertEquals(points.size() + 1, csv.size());
    assertTrue(csv.get(1).startsWith("1," + points.get(0).get("point") + ","), csv.get(1));
    Map<String, Object> rep = (Map<String, Object>) Json.read(Files.readString(sens.resolve("report.json")));
    assertEquals(sj, rep.get("sensitivity"));
    assertEquals(points.size() + 1L, ((Map<String, Object>) rep.get("cost")).get("variants"));
    assertTrue(Files.readString(sens.resolve("report.html")).contains("\"ranked_by\""));
    assertTrue(s.out().contains("top-1 gain kept float") && s.out().contains("cost: " + (points.size() + 1) + " variants"), s.out());

    // an existing folder without --overwrite: one line, exit code 2, the folder as it was
    byte[] before = Files.readAllBytes(sens.resolve("sensitivity.json"));
    Run again = Run.of(args("sensitivity", sens).toArray(String[]::new));
    assertEquals(2, again.code(), again.err());
    assertTrue(again.err().startsWith("qspark: error: "), again.err());
    assertEquals(new String(before), Files.readString(sens.resolve("sensitivity.json")));
  }

  /**
   * A model without a class axis ranks by output SQNR and shows no top-1, though the images carry
   * labels (an IDX file with its labels beside it, as detectors are often calibrated).
   */
  @Test
  @Timeout(600)
  @SuppressWarnings("unchecked")
  void aModelWithoutClassesIsScoredBySqnrWhateverTheDataHolds(@TempDir Path dir) throws Exception {
    io.qspark.kernels.testing.TinyNet t = new io.qspark.kernels.testing.TinyNet(-1, 1, 28, 28);
    String c1 = t.op("r1", "Relu", t.conv("c1", "x", 1, 4, 3, 1, 1, 1));
    Path model = t.write(dir.resolve("dense.onnx"), t.conv("c2", c1, 4, 2, 3, 1, 1, 1));
    Path sens = dir.resolve("sens");
    Run s = Run.of("sensitivity", "--model", model.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "32", "--bits", "4", "--master", "local[2]", "--out", sens.toString());
    assertEquals(0, s.code(), s.err());
    Map<String, Object> sj = (Map<String, Object>) Json.read(Files.readString(sens.resolve("sensitivity.json")));
    assertEquals("output_sqnr_db", sj.get("ranked_by"));
    assertFalse(sj.containsKey("float_top1"), sj.toString());
    assertFalse(s.out().contains("top-1"), s.out());
  }
}

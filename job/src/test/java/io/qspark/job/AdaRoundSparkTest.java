package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `finetune --adaround-steps` as Spark jobs on local[2]: the same bits for 1, 3 and 8
 * partitions, every tuned weight the floor or the ceiling of w / s, composition with bias
 * correction and AdaQuant, and a folder that deploys and simulates with 0 mismatches.
 */
class AdaRoundSparkTest {
  private static final String[] W4A4B8 = {"--bits", "4", "--bias-bits", "8", "--calib-size", "200"};

  private static Run finetune(Path out, String partitions, String batch, String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of(W4A4B8));
    args.addAll(List.of("--master", "local[2]", "--partitions", partitions, "--batch", batch, "--adaround-steps", "3"));
    args.addAll(List.of(extra));
    return FinetuneSparkTest.finetune(Run.sampleModel(), Run.sampleImages(), out, args.toArray(new String[0]));
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  @SuppressWarnings("unchecked")
  void sameBitsForOneThreeAndEightPartitionsAndTheRoundingEndsHard(@TempDir Path dir) throws Exception {
    String[][] runs = {{"1", "64"}, {"3", "17"}, {"8", "50"}};
    byte[][] models = new byte[runs.length][], infos = new byte[runs.length][];
    for (int i = 0; i < runs.length; i++) {
      Path out = dir.resolve("p" + runs[i][0]);
      Run r = finetune(out, runs[i][0], runs[i][1], "--bias-correction");
      assertEquals(0, r.code(), r.err());
      models[i] = Files.readAllBytes(out.resolve("float_model.onnx"));
      infos[i] = Files.readAllBytes(out.resolve("quant_info.json"));
    }
    for (int i = 1; i < runs.length; i++) {
      assertArrayEquals(infos[0], infos[i], "quant_info.json, " + runs[i][0] + " partitions against 1");
      assertArrayEquals(models[0], models[i], "float_model.onnx, " + runs[i][0] + " partitions against 1");
    }
    Path out = dir.resolve("p1");
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
    Map<String, Object> ft = (Map<String, Object>) report.get("finetune");
    Map<String, Object> ar = (Map<String, Object>) ft.get("adaround");
    long kept = ((Number) ar.get("kept")).longValue();
    assertTrue(kept > 0, ar.toString());

    // every weight of the folder's model is the float model's, or, in a layer AdaRound changed,
    // the floor or the ceiling of w / s at that layer's fix_point (clipped to the 4-bit range),
    // and some are not the nearest grid point: the rounding was learnt, and it ended hard
    Graph given = Model.load(Path.of(Run.sampleModel())).forInference().graph();
    Graph tuned = Model.load(out.resolve("float_model.onnx")).forInference().graph();
    QuantInfo.Parsed q = QuantInfo.read(Files.readString(out.resolve("quant_info.json")));
    int changedLayers = 0;
    long notNearest = 0, weights = 0;
    for (Node n : given.nodes()) {
      if (!n.opType().equals("Conv") && !n.opType().equals("Gemm")) continue;
      float[] w = given.initializers().get(n.input(1)).data(), t = tuned.initializers().get(n.input(1)).data();
      if (java.util.Arrays.equals(w, t)) continue;
      changedLayers++;
      FixPoint fp = q.params().params().get(n.input(1));
      double s = fp.step();
      for (int i = 0; i < w.length; i++) {
        double k = t[i] / s;
        assertEquals(Math.rint(k), k, 0, n.name() + " weight " + i + " is on the grid");
        double lo = Math.max(fp.qmin(), Math.min(fp.qmax(), Math.floor(w[i] / s)));
        double hi = Math.max(fp.qmin(), Math.min(fp.qmax(), Math.ceil(w[i] / s)));
        assertTrue(k == lo || k == hi, n.name() + " weight " + i + ": " + w[i] + " / " + s + " became " + k);
        if (k != Math.max(fp.qmin(), Math.min(fp.qmax(), Math.floor(w[i] / s + 0.5)))) notNearest++;
        weights++;
      }
    }
    assertEquals(kept, changedLayers, "the layers kept are the layers whose weights changed");
    assertTrue(notNearest > 0 && notNearest < weights / 4, notNearest + " of " + weights + " rounded away from the nearest");

    // the folder deploys as it is, bit-exact in the simulator
    Path dep = dir.resolve("dpu");
    Run d = Run.of("deploy", "--calib", out.toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(0, d.code(), d.err());
    Run sim = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[2]", "--limit", "300");
    String[] lines = sim.out().strip().split("\\R");
    assertEquals("mismatches: 0", lines[lines.length - 2], sim.out() + sim.err());
  }

  /** AdaRound alone: the calibration it starts from is a stage of its own, so its time stands against AdaRound's. */
  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  @SuppressWarnings("unchecked")
  void aloneItsCalibrationIsTimedApart(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("alone");
    Run r = finetune(out, "2", "64");
    assertEquals(0, r.code(), r.err());
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
    List<Map<String, Object>> stages = (List<Map<String, Object>>) report.get("stages");
    assertEquals(List.of("load", "calibration", "adaround", "final_calibration", "error_pass"),
        stages.stream().map(s -> (String) s.get("stage")).toList());
    for (Map<String, Object> s : stages.subList(1, 3)) assertTrue(((Number) s.get("seconds")).doubleValue() > 0, s.toString());
    // the summary's statistics pass is that calibration's (the final stage only reuses it): not 0.0 s
    String line = r.out().lines().filter(l -> l.startsWith("statistics pass")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
    double seconds = Double.parseDouble(line.replaceAll("^statistics pass\\s+([0-9.]+) s.*$", "$1"));
    double calibration = ((Number) stages.get(1).get("seconds")).doubleValue();
    assertTrue(seconds > 0 && seconds <= calibration + 0.05, line + " against the calibration stage's " + calibration + " s");
  }

  /**
   * A model of two inputs (from two Parquet columns) and two outputs: the spread step windows and
   * the exact sums give the same folder for 1 and 3 partitions, and it deploys and simulates with
   * no mismatch on either output.
   */
  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void twoInputsTwoOutputsSameBitsAndBitExactDeploy(@TempDir Path dir) throws Exception {
    // 130 images: more than two steps of 64, so the steps visit them in a spread order (stride 3)
    Path pairs = RealWorldSqnrBench.pairs(dir.resolve("pairs.parquet"), 0, 130);
    String model = RealWorldModelsTest.model("siamese2");
    byte[][] infos = new byte[2][], models = new byte[2][];
    String[] parts = {"1", "3"};
    for (int i = 0; i < parts.length; i++) {
      Path out = dir.resolve("s" + parts[i]);
      Run r = Run.of("finetune", "--model", model, "--data", pairs.toString(), "--input-columns", "left=a,right=b",
          "--calib-size", "130", "--bits", "4", "--bias-bits", "8", "--adaround-steps", "2", "--master", "local[2]",
          "--partitions", parts[i], "--out", out.toString());
      assertEquals(0, r.code(), r.err());
      assertTrue(r.err().contains("finetune: AdaRound: "), r.err());
      infos[i] = Files.readAllBytes(out.resolve("quant_info.json"));
      models[i] = Files.readAllBytes(out.resolve("float_model.onnx"));
    }
    assertArrayEquals(infos[0], infos[1], "quant_info.json, 3 partitions against 1");
    assertArrayEquals(models[0], models[1], "float_model.onnx, 3 partitions against 1");
    Path dep = dir.resolve("dpu");
    Run d = Run.of("deploy", "--calib", dir.resolve("s1").toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(0, d.code(), d.err());
    Run sim = Run.of("simulate", "--deploy", dep.toString(), "--data", pairs.toString(), "--input-columns", "left=a,right=b",
        "--master", "local[2]");
    assertEquals(0, sim.code(), sim.err());
    assertTrue(sim.out().contains("mismatches logits: 0") && sim.out().contains("mismatches embedding: 0"), sim.out());
  }

  /** AdaRound then AdaQuant, after equalization and bias correction: stages in that order. */
  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  @SuppressWarnings("unchecked")
  void composesWithEqualizationBiasCorrectionAndAdaQuant(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("all");
    Run r = finetune(out, "2", "64", "--cle", "--bias-correction", "--adaquant-steps", "2");
    assertEquals(0, r.code(), r.err());
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
    List<String> stages = ((List<Map<String, Object>>) report.get("stages")).stream().map(s -> (String) s.get("stage")).toList();
    assertEquals(List.of("load", "cross_layer_equalization", "bias_correction", "check_against_ptq", "adaround", "adaquant",
        "error_pass"), stages);
    assertTrue(r.err().contains("finetune: AdaRound: "), r.err());
  }
}

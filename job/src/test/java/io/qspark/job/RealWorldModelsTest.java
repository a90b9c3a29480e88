package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.RealWorld;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every model in ../shared/models/realworld (a YOLO-shaped detector with three heads, a
 * torchvision segmenter, a two-input two-output siamese net, a fixed-batch export) goes through
 * the whole command line in local[2]: inspect, calibrate, finetune with every stage, deploy for
 * a DPU target (SiLU, Sigmoid and Resize as CPU layers) and simulate, on synthetic data and on
 * Fashion-MNIST images (resized to the model, gray repeated to RGB where it takes 3 channels;
 * for siamese2 a training image and another as two Parquet columns), with no simulated value differing
 * from the fake-quant model on any output. Few images: the point is coverage and bit-exactness.
 */
@Tag("slow")
class RealWorldModelsTest {
  static final String[] FASHION_NORMALIZED = {"--mean", "72.94", "--std", "90.02"};

  static String model(String name) {
    return RealWorld.model(name + ".onnx").toString();
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.MINUTES)
  void tinyYolo(@TempDir Path dir) throws Exception {
    pipeline(dir.resolve("synthetic"), "tiny_yolo", List.of("p3", "p4", "p5"), 4, "--data", "synthetic:4");
    pipeline(dir.resolve("fashion"), "tiny_yolo", List.of("p3", "p4", "p5"), 4, fashion(160, true));
  }

  @Test
  @Timeout(value = 40, unit = TimeUnit.MINUTES)
  void lraspp(@TempDir Path dir) throws Exception {
    pipeline(dir.resolve("synthetic"), "lraspp_mobilenet_v3_large", List.of("out"), 2, "--data", "synthetic:2");
    pipeline(dir.resolve("fashion"), "lraspp_mobilenet_v3_large", List.of("out"), 2, fashion(128, true));
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void siamese2(@TempDir Path dir) throws Exception {
    pipeline(dir.resolve("synthetic"), "siamese2", List.of("logits", "embedding"), 16, "--data", "synthetic:16");
    Path pairs = RealWorldSqnrBench.pairs(dir.resolve("pairs.parquet"), 0, 16);
    pipeline(dir.resolve("fashion"), "siamese2", List.of("logits", "embedding"), 16, "--data", pairs.toString(),
        "--input-columns", "left=a,right=b");

    // evaluate of the calibration: a table and one line per output before the last
    Run e = Run.of("evaluate", "--model", dir.resolve("fashion/calib").toString(), "--data", pairs.toString(),
        "--input-columns", "left=a,right=b", "--master", "local[2]");
    assertEquals(0, e.code(), e.err());
    List<String> lines = e.out().strip().lines().toList();
    int n = lines.size();
    assertTrue(lines.get(n - 3).matches("sqnr logits: \\d+\\.\\d\\d"), e.out());
    assertTrue(lines.get(n - 2).matches("sqnr embedding: \\d+\\.\\d\\d"), e.out());
    assertTrue(lines.get(n - 1).startsWith("min sqnr: "), e.out());

    // bad columns: a one-line error naming the input and the column, exit 2, nothing written
    String model = model("siamese2");
    Run wrongLength = Run.of("calibrate", "--model", model, "--data", pairs.toString(), "--input-columns", "left=a,right=c",
        "--out", dir.resolve("x1").toString());
    assertEquals(2, wrongLength.code(), wrongLength.err());
    assertTrue(wrongLength.err().contains("column 'c' for input 'right' holds 10 values but the input takes 784"),
        wrongLength.err());
    Run wrongType = Run.of("calibrate", "--model", model, "--data", pairs.toString(), "--input-columns", "left=a,right=s",
        "--out", dir.resolve("x2").toString());
    assertEquals(2, wrongType.code(), wrongType.err());
    assertTrue(wrongType.err().contains("column 's' for input 'right' is string"), wrongType.err());
    Run missing = Run.of("calibrate", "--model", model, "--data", pairs.toString(), "--input-columns", "left=a",
        "--out", dir.resolve("x3").toString());
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().contains("no column for the model's input 'right'"), missing.err());
    for (String x : List.of("x1", "x2", "x3")) assertTrue(Files.notExists(dir.resolve(x)), x);
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void fixedBatchResnet(@TempDir Path dir) throws Exception {
    pipeline(dir.resolve("synthetic"), "resnet_s_static1", List.of("logits"), 16, "--data", "synthetic:16");
    pipeline(dir.resolve("fashion"), "resnet_s_static1", List.of("logits"), 16, fashion(0, false));
  }

  /** Fashion-MNIST's first test images, normalized as the realworld README says, resized and made RGB as the model needs. */
  static String[] fashion(int size, boolean rgb) {
    List<String> a = new ArrayList<>(List.of("--data", Run.sampleImages()));
    a.addAll(List.of(FASHION_NORMALIZED));
    if (size > 0) a.addAll(List.of("--resize", Integer.toString(size)));
    if (rgb) a.add("--gray-to-rgb");
    return a.toArray(new String[0]);
  }

  /**
   * inspect, calibrate, finetune --cle --bias-correction --adaquant-steps 10, deploy --target
   * b4096, simulate: each exits 0; the calibration's report.json has every output's SQNR; simulate
   * finds 0 mismatches on every output.
   */
  static void pipeline(Path dir, String name, List<String> outputs, int images, String... data) throws IOException {
    String m = model(name);
    Run inspect = Run.of("inspect", "--model", m);
    assertEquals(0, inspect.code(), inspect.err());
    for (String o : outputs) assertTrue(inspect.out().contains(o), inspect.out());

    String n = Integer.toString(images);
    Path cal = dir.resolve("calib"), ft = dir.resolve("finetune"), dep = dir.resolve("deploy");
    Run c = Run.of(args(data, "calibrate", "--model", m, "--calib-size", n, "--out", cal.toString(), "--master", "local[2]"));
    assertEquals(0, c.code(), c.err());
    @SuppressWarnings("unchecked")
    Map<String, Object> fidelity = (Map<String, Object>) ((Map<String, Object>) Json.read(
        Files.readString(cal.resolve("report.json")))).get("outputs_against_float");
    assertEquals(outputs, new ArrayList<>(fidelity.keySet()), c.out());
    for (String o : outputs) assertTrue(c.out().contains("output " + o + " "), c.out());

    Run f = Run.of(args(data, "finetune", "--model", m, "--calib-size", n, "--cle", "--bias-correction", "--adaquant-steps",
        "10", "--out", ft.toString(), "--master", "local[2]"));
    assertEquals(0, f.code(), f.err());

    Run d = Run.of("deploy", "--calib", ft.toString(), "--target", "b4096", "--out", dep.toString());
    assertEquals(0, d.code(), d.err());

    Run s = Run.of(args(data, "simulate", "--deploy", dep.toString(), "--limit", n, "--master", "local[2]"));
    assertEquals(0, s.code(), s.err());
    List<String> lines = s.out().lines().toList();
    for (String o : outputs) assertTrue(lines.contains("mismatches " + o + ": 0") || outputs.size() == 1 && s.out().contains("top1: "),
        s.out());
    assertTrue(lines.contains("mismatches: 0"), s.out());
  }

  static String[] args(String[] data, String... command) {
    List<String> a = new ArrayList<>(List.of(command));
    a.addAll(List.of(data));
    return a.toArray(new String[0]);
  }
}

package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.GoldenDump;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-layer rules through calibrate, deploy and simulate on resnet_s (local[2]): every Add and
 * the classifier's Gemm (at 16-bit activations) kept in float run as CPU layers and the simulator
 * equals fake-quant (mismatches: 0); quant_info.json records the rules, the rule behind each
 * point and the excluded nodes. Then golden dumps of that deployment: compared with itself, and
 * with one integer changed.
 */
@Tag("slow")
class LayerRulesSparkTest {
  static final String MODEL = Shared.model("resnet_s.onnx").toString();

  static Run calibrate(Path out, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("calibrate", "--model", MODEL, "--data", Run.sampleImages(), "--mean",
        "72.94", "--std", "90.02", "--calib-size", "200", "--out", out.toString(), "--master", "local[2]"));
    args.addAll(List.of(more));
    return Run.of(args.toArray(String[]::new));
  }

  static Run simulate(Path deploy, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("simulate", "--deploy", deploy.toString(), "--data", Run.sampleImages(),
        "--mean", "72.94", "--std", "90.02", "--master", "local[2]", "--limit", "300"));
    args.addAll(List.of(more));
    return Run.of(args.toArray(String[]::new));
  }

  static String last(Run r, int fromEnd) {
    String[] lines = r.out().strip().split("\\R");
    return lines[lines.length - 1 - fromEnd];
  }

  @Test
  @SuppressWarnings("unchecked")
  void excludedAddsAndASixteenBitFcDeployAndSimulateExactly(@TempDir Path dir) throws Exception {
    Path conf = dir.resolve("rules.yaml"), calib = dir.resolve("calib"), dep = dir.resolve("deploy"), dump = dir.resolve("dump");
    Files.writeString(conf, "calibrate:\n  layers:\n    - {match: /fc/Gemm, activation_bits: 16, exclude: true}\n");
    Run c = calibrate(calib, "--conf", conf.toString(), "--exclude-op-types", "Add");
    assertEquals(0, c.code(), c.err());

    Map<String, Object> info = (Map<String, Object>) Json.read(Files.readString(calib.resolve("quant_info.json")));
    assertEquals(List.of(Map.of("match", "/fc/Gemm", "activation_bits", 16L, "exclude", true), Map.of("op", "Add", "exclude", true)),
        ((Map<String, Object>) info.get("config")).get("layers"));
    List<Map<String, Object>> excluded = (List<Map<String, Object>>) info.get("excluded_nodes");
    assertEquals(7, excluded.size(), excluded.toString());
    for (int i = 0; i < 6; i++) assertEquals(Map.of("node", "/layers/layers." + i + "/Add", "rule", "layers[1]"), excluded.get(i));
    assertEquals(Map.of("node", "/fc/Gemm", "rule", "layers[0]"), excluded.get(6));
    List<Map<String, Object>> acts = (List<Map<String, Object>>) info.get("activations");
    Map<String, Object> logits = acts.get(acts.size() - 1);
    assertEquals(16L, logits.get("bits"), logits.toString());
    assertEquals("layers[0]", logits.get("rule"));
    assertTrue(acts.subList(0, acts.size() - 1).stream().allMatch(a -> a.get("bits").equals(8L) && !a.containsKey("rule")));
    List<Map<String, Object>> params = (List<Map<String, Object>>) info.get("params");
    assertEquals(2 * 15, params.size(), "the 15 convs' weights and biases; the Gemm's stay float");
    assertTrue(params.stream().noneMatch(p -> p.get("node").equals("/fc/Gemm")));

    // without a target nothing runs them on the CPU: refused in one line naming the rules, nothing written
    Run plain = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString());
    assertEquals(2, plain.code(), plain.err());
    assertEquals(1, plain.errorLines().size(), plain.err());
    assertTrue(plain.err().contains("layer rule layers[0] {match: '/fc/Gemm', activation_bits: 16, exclude: true} keeps 1 node in"
        + " float (/fc/Gemm)") && plain.err().contains("layer rule layers[1] {op: Add, exclude: true} keeps 6 nodes in float"),
        plain.err());
    assertFalse(Files.exists(dep));

    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(0, d.code(), d.err());
    String txt = Files.readString(dep.resolve("deploy_model.txt"));
    assertFalse(txt.contains("ELTWISE_ADD"), txt);
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(dep.resolve("report.json")));
    List<Map<String, Object>> nodes = (List<Map<String, Object>>) ((Map<String, Object>) report.get("partition")).get("nodes");
    Map<String, Object> fc = nodes.stream().filter(n -> n.get("name").equals("/fc/Gemm")).findFirst().orElseThrow();
    assertEquals("CPU", fc.get("unit"));
    assertEquals("CPU: kept in float by layer rule layers[0] {match: '/fc/Gemm', activation_bits: 16, exclude: true}", fc.get("reason"));

    Run s = simulate(dep, "--dump", dump.toString(), "--dump-images", "2");
    assertEquals(0, s.code(), s.err());
    assertEquals("mismatches: 0", last(s, 1), s.out());
    assertTrue(s.out().contains("golden dump of 2 images, "), s.out());

    // the dump against itself, then against a copy with one integer changed in one layer
    Run same = Run.of("compare-dumps", dump.toString(), dump.toString());
    assertEquals(0, same.code(), same.err());
    assertTrue(same.out().contains("no difference"), same.out());

    GoldenDump.Index index = GoldenDump.readIndex(GoldenDump.folder(dump));
    GoldenDump.Entry fcOut = index.layer("/fc/Gemm");
    assertEquals("int16", fcOut.dtype());
    GoldenDump.Entry k = index.layers().stream().filter(e -> e.name().equals("/layers/layers.2/c1/c1.0/Conv")).findFirst().orElseThrow();
    Path other = dir.resolve("other");
    copy(dump, other);
    Path file = other.resolve(k.path(1));
    byte[] bytes = Files.readAllBytes(file);
    int w = k.shape().get(3), h = k.shape().get(2);
    int pos = (2 * h + 1) * w + 4; // channel 2, row 1, column 4
    bytes[pos] = (byte) (bytes[pos] == 127 ? 120 : bytes[pos] + 1);
    Files.write(file, bytes);
    Run diff = Run.of("compare-dumps", dump.toString(), other.toString());
    assertEquals(4, diff.code(), diff.out() + diff.err());
    assertTrue(diff.out().contains("first differing layer: " + k.index() + " '/layers/layers.2/c1/c1.0/Conv'"), diff.out());
    assertTrue(diff.out().contains("first: image 1 at [0, 2, 1, 4]"), diff.out());
    assertTrue(diff.out().contains("1 of " + 2 * k.size() + " values differ"), diff.out());

    // another model's dump is refused in one line
    Path idx = other.resolve(GoldenDump.INDEX);
    Files.writeString(idx, Files.readString(idx).replaceFirst("\"model_sha256\": \"[0-9a-f]+\"", "\"model_sha256\": \"00\""));
    Run model = Run.of("compare-dumps", dump.toString(), other.toString());
    assertEquals(2, model.code(), model.err());
    assertTrue(model.err().startsWith("qspark: error: dumps of different models: "), model.err());
  }

  /** A 16-bit activation on a layer the DPU computes is beyond the B4096's 8 bits: refused, naming the rule. */
  @Test
  void aSixteenBitDpuLayerIsRefusedNamingTheRule(@TempDir Path dir) throws Exception {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    assertEquals(0, calibrate(calib, "--layers", "{match: /fc/Gemm, activation_bits: 16}").code());
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(2, d.code(), d.err());
    assertEquals(1, d.errorLines().size(), d.err());
    assertTrue(d.err().contains("is 16-bit (set by layer rule layers[0] {match: '/fc/Gemm', activation_bits: 16}), target b4096"
        + " computes at most 8 bits (DPU layer /fc/Gemm); layers kept in float (a layer rule with exclude: true) run on the CPU"
        + " at any width up to 16 bits"), d.err());
    assertFalse(Files.exists(dep));
  }

  static void copy(Path from, Path to) throws java.io.IOException {
    try (var files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(t);
        else Files.copy(p, t);
      }
    }
  }
}

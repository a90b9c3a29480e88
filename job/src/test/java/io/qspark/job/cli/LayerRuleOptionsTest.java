package io.qspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-layer rules on the command line: a --conf file's layers: list, --layers, --exclude-nodes and
 * --exclude-op-types in their order, shown by --print-config (and read back from what it prints);
 * bad rules are one-line errors, exit code 2, with nothing written.
 */
class LayerRuleOptionsTest {
  @TempDir Path dir;

  private Path write(String name, String yaml) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, yaml);
    return p;
  }

  @Test
  void printConfigShowsTheRulesInOrderAndReadsBack() throws IOException {
    Path f = write("rules.yaml", String.join("\n",
        "model: m.onnx", "data: d.idx", "out: o",
        "calibrate:",
        "  layers:",
        "    - {match: /fc/Gemm, activation_bits: 16}",
        "    - match: '.*layers\\.0/.*'",
        "      op: Conv",
        "      bits: 6",
        "      method: maxmin",
        ""));
    Run r = Run.of("calibrate", "--conf", f.toString(), "--layer-bits", ":input=8", "--exclude-op-types", "Add,Concat",
        "--exclude-nodes", "/fc/.*", "--print-config");
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    int at = lines.indexOf("layers:");
    assertTrue(at >= 0, r.out());
    assertEquals("  - {match: '/fc/Gemm', activation_bits: 16}", lines.get(at + 1));
    assertEquals("  - {match: '.*layers\\.0/.*', op: Conv, weight_bits: 6, activation_bits: 6, bias_bits: 6, method: maxmin}",
        lines.get(at + 2));
    int all = lines.indexOf("# every layer rule in order (a later one wins), as quant_info.json numbers them:");
    assertEquals(List.of(
        "#   layers[0] {match: ':input', weight_bits: 8, activation_bits: 8, bias_bits: 8}",
        "#   layers[1] {match: '/fc/Gemm', activation_bits: 16}",
        "#   layers[2] {match: '.*layers\\.0/.*', op: Conv, weight_bits: 6, activation_bits: 6, bias_bits: 6, method: maxmin}",
        "#   layers[3] {match: '/fc/.*', exclude: true}",
        "#   layers[4] {op: Add, exclude: true}",
        "#   layers[5] {op: Concat, exclude: true}"), lines.subList(all + 1, all + 7));
    assertTrue(lines.contains("exclude-op-types: [Add, Concat]"), r.out());
    assertTrue(lines.contains("exclude-nodes: [/fc/.*]"), r.out());

    // what --print-config prints reads back as the same settings
    Path again = write("again.yaml", r.out());
    Run r2 = Run.of("calibrate", "--conf", again.toString(), "--print-config");
    assertEquals(0, r2.code(), r2.err());
    assertEquals(r.out().lines().skip(1).toList(), r2.out().lines().skip(1).toList());

    Run flags = Run.of("calibrate", "--model", "m.onnx", "--data", "d", "--out", "o", "--layers", "{op: Add, exclude: true}", "--layers", "[{match: x, bits: 4}, {op: Relu, method: mse}]",
        "--print-config");
    assertEquals(0, flags.code(), flags.err());
    assertTrue(flags.out().contains("layers:\n  - {op: Add, exclude: true}\n  - {match: 'x', weight_bits: 4, activation_bits: 4,"
        + " bias_bits: 4}\n  - {op: Relu, method: mse}\n"), flags.out());
  }

  @Test
  void badRulesAreOneLineErrorsAndWriteNothing() throws IOException {
    Path out = dir.resolve("out");
    String model = Run.sampleModel(), data = Run.sampleImages();
    List<List<String>> cases = List.of(
        List.of("--exclude-nodes", "/layers/(.*"),
        List.of("--layers", "{match: /fc/Gemm, activation_bits: 17}"),
        List.of("--layers", "{match: /fc/Gemm, activation_bitz: 8}"),
        List.of("--layers", "{match: /fc/Gemm, method: best}"),
        List.of("--layers", "match /fc/Gemm"),
        List.of("--conf", write("bad.yaml", "layers:\n  - {op: Add, exclude: maybe}\n").toString()));
    List<String> expect = List.of(
        "layer match '/layers/(.*' is not a regular expression: Unclosed group",
        "layer rule {match=/fc/Gemm}: activation bit width 17 outside 2..16",
        "layer rule {match=/fc/Gemm, activation_bitz=8}: unknown key activation_bitz (match, op, bits, weight_bits,"
            + " activation_bits, bias_bits, method, exclude)",
        "unknown method 'best' (maxmin, percentile, mse, entropy)",
        "layer rule 'match /fc/Gemm': expected a mapping such as {match: /fc/Gemm, bits: 8}",
        "layer rule {op=Add, exclude=maybe}: exclude must be true or false");
    for (int i = 0; i < cases.size(); i++) {
      List<String> args = new java.util.ArrayList<>(List.of("calibrate", "--model", model, "--data", data, "--out", out.toString(),
          "--master", "local[1]"));
      args.addAll(cases.get(i));
      Run r = Run.of(args.toArray(String[]::new));
      assertEquals(2, r.code(), cases.get(i) + ": " + r.err());
      List<String> errs = r.errorLines();
      assertEquals(1, errs.size(), r.err());
      assertTrue(errs.get(0).startsWith("qspark: error: " + expect.get(i)), errs.get(0));
      assertFalse(Files.exists(out));
    }
  }

  /** A rule that selects nothing fails after the model is read, before Spark starts or anything is written. */
  @Test
  void aRuleMatchingNoNodeIsNamed() throws IOException {
    Path out = dir.resolve("out");
    Run r = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--out", out.toString(),
        "--exclude-op-types", "Add,Softmax", "--layers", "{match: /fc/Gem, activation_bits: 16}");
    assertEquals(2, r.code(), r.err());
    assertEquals(List.of("qspark: error: layer rules layers[0] {match: '/fc/Gem', activation_bits: 16}, layers[2] {op: Softmax,"
        + " exclude: true} match no node of the model (node and output names, op types of the graph with BatchNorm folded and"
        + " activations fused)"), r.errorLines());
    assertFalse(Files.exists(out));
    try (var s = Files.list(dir)) {
      assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".qspark")).toList(), "no temporary folder left");
    }
  }
}

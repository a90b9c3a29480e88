package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** calibrate -> deploy -> simulate as local[2] Spark jobs on the bundled 1,000 test images. */
class DeploySimulateSparkTest {
  @Test
  void simulatorIsBitExactWithFakeQuantAndScoresAsTheCalibratedModel(@TempDir Path dir) throws Exception {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "300", "--out", calib.toString(), "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    assertTrue(Files.size(dep.resolve("deploy_model.pb")) > 10_000);
    assertTrue(Files.readString(dep.resolve("deploy_model.txt")).contains("ELTWISE_ADD"));

    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[2]", "--partitions", "3", "--max-top1-drop", "1.5");
    assertEquals(0, s.code(), "8 bits pass a 1.5-point gate: " + s.err());
    assertTrue(s.out().contains("float top1: 9"), s.out());
    String[] lines = s.out().strip().split("\\R");
    assertEquals("mismatches: 0", lines[lines.length - 2], s.out());
    Run e = Run.of("evaluate", "--model", calib.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[2]");
    assertEquals(0, e.code(), e.err());
    String[] el = e.out().strip().split("\\R");
    assertEquals(el[el.length - 1], lines[lines.length - 1], "the simulator's top-1 is the calibrated model's");
    assertTrue(lines[lines.length - 1].startsWith("top1: 9"), s.out());
  }

  @Test
  void corruptOrMismatchedDeployModelsAreClearUserErrors(@TempDir Path dir) throws Exception {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    assertEquals(0, Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--calib-size", "100", "--out", calib.toString(), "--master", "local[1]").code());
    assertEquals(0, Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString()).code());
    Path pb = dep.resolve("deploy_model.pb");
    byte[] good = Files.readAllBytes(pb);

    Files.write(pb, java.util.Arrays.copyOf(good, good.length / 2));
    Run truncated = simulate(dep);
    assertEquals(2, truncated.code(), truncated.err());
    assertTrue(truncated.err().contains("corrupt or truncated") || truncated.err().contains("corrupt deploy model"), truncated.err());

    // deploy writes version 2; versions 1 (a folder deployed before version 2) and 2 read, any other is refused
    DeployModel written = DeployModel.parseFrom(good);
    assertEquals(2, written.getFormatVersion());
    for (int v : new int[] {3, 0}) {
      Files.write(pb, DeployFormat.seal(written.toBuilder().setFormatVersion(v).build()).toByteArray());
      Run version = simulate(dep);
      assertEquals(2, version.code(), version.err());
      assertTrue(version.err().contains("deploy format version " + v + "; this qspark reads versions 1 and 2"), version.err());
      assertEquals(1, version.err().strip().lines().count(), version.err());
    }
    Files.write(pb, written.toBuilder().setFormatVersion(1).clearContentSha256().build().toByteArray());
    Run v1 = simulate(dep);
    assertEquals(0, v1.code(), v1.err());
    String[] v1Lines = v1.out().strip().split("\\R");
    assertEquals("mismatches: 0", v1Lines[v1Lines.length - 2], v1.out());

    Files.write(pb, Files.readAllBytes(Path.of(Run.sampleModel())));
    Run onnx = simulate(dep);
    assertEquals(2, onnx.code(), onnx.err());
    assertTrue(onnx.err().contains("is not a qspark deploy model"), onnx.err());
  }

  /**
   * --bias-bits apart from the weights': recorded in quant_info.json, deployed as integers of
   * that width (checked against the target's), simulated bit-exactly; a bias wider than the
   * target's is refused at deploy, a width outside 2..16 on the command line.
   */
  @Test
  void biasBitsApartFromWeightBits(@TempDir Path dir) throws Exception {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "200", "--bits", "4", "--bias-bits", "8", "--out", calib.toString(), "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    String info = Files.readString(calib.resolve("quant_info.json"));
    assertTrue(info.contains("\"weight_bits\": 4,") && info.contains("\"bias_bits\": 8,"), info.substring(0, 600));
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(0, d.code(), d.err());
    assertTrue(Files.readString(dep.resolve("deploy_model.txt")).contains(", 8-bit bias"));
    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[2]", "--limit", "300");
    String[] lines = s.out().strip().split("\\R");
    assertEquals("mismatches: 0", lines[lines.length - 2], s.out() + s.err());

    Path wide = dir.resolve("wide");
    assertEquals(0, Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--calib-size", "50", "--bias-bits", "16", "--out", wide.toString(), "--master", "local[1]").code());
    Run refused = Run.of("deploy", "--calib", wide.toString(), "--out", dir.resolve("wide-dpu").toString(), "--target", "b4096");
    assertEquals(2, refused.code(), refused.err());
    assertTrue(refused.err().contains("bias is 16-bit, target b4096 adds biases of at most 8 bits"), refused.err());
    assertEquals(1, refused.err().strip().split("\\R").length, refused.err());
    assertTrue(Files.notExists(dir.resolve("wide-dpu")));

    Run bad = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--bias-bits", "20",
        "--out", dir.resolve("bad").toString());
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("bias bit width 20 outside 2..16"), bad.err());
  }

  /**
   * Per-layer widths from the shipped preset (input and output layers at 8 bits, the rest at 4):
   * recorded in quant_info.json, each quantizer at its width, deployed and simulated bit-exactly.
   */
  @Test
  @SuppressWarnings("unchecked")
  void mixedWidthsFromThePresetDeployAndSimulateExactly(@TempDir Path dir) throws Exception {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--conf", "../conf/ptq-4bit-io8.yaml", "--model", Run.sampleModel(), "--data",
        Run.sampleImages(), "--mean", "72.94", "--std", "90.02", "--calib-size", "200", "--out", calib.toString(),
        "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    var info = (java.util.Map<String, Object>) io.qspark.kernels.io.Json.read(Files.readString(calib.resolve("quant_info.json")));
    var config = (java.util.Map<String, Object>) info.get("config");
    assertEquals(3, ((java.util.List<Object>) config.get("layers")).size(), config.toString());
    var acts = (java.util.List<java.util.Map<String, Object>>) info.get("activations");
    assertEquals("layers[1]", acts.get(1).get("rule"), "the :first rule set the first layer's output width");
    assertEquals(8, ((Number) acts.get(0).get("bits")).intValue(), "the network input");
    assertEquals(8, ((Number) acts.get(1).get("bits")).intValue(), "the first layer's output");
    assertEquals(4, ((Number) acts.get(2).get("bits")).intValue(), "the next layer's");
    assertEquals(8, ((Number) acts.get(acts.size() - 1).get("bits")).intValue(), "the logits");
    assertTrue(acts.stream().filter(a -> ((Number) a.get("bits")).intValue() == 4).count() > 15);
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(0, d.code(), d.err());
    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[2]", "--limit", "300");
    String[] lines = s.out().strip().split("\\R");
    assertEquals("mismatches: 0", lines[lines.length - 2], s.out() + s.err());
  }

  /** A 3-bit model misses a 1-point gate: exit code 4, the figures still printed. */
  @Test
  void accuracyGateFailsWithExitCode4(@TempDir Path dir) {
    Path calib = dir.resolve("calib"), dep = dir.resolve("deploy");
    assertEquals(0, Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--calib-size", "100", "--bits", "3", "--out", calib.toString(), "--master", "local[1]").code());
    assertEquals(0, Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString()).code());
    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[1]", "--limit", "200", "--max-top1-drop", "1");
    assertEquals(4, s.code(), s.out() + s.err());
    assertTrue(s.out().contains("mismatches: 0"), s.out());
    assertTrue(s.err().contains("qspark: error: accuracy gate failed: simulated top-1 is"), s.err());
  }

  private static Run simulate(Path dep) {
    return Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[1]", "--limit", "10");
  }
}

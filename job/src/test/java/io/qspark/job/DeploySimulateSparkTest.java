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

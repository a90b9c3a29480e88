package io.qspark.job.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.CliErrorsTest;
import io.qspark.job.Run;
import io.qspark.job.TestFolders;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Folders qspark 0.1.0 wrote (format 1: no folder.json, preprocessing not recorded; checked in
 * under test resources io/qspark/job/folders/v1) still read: each typed folder opens them, and
 * deploy, evaluate and simulate take them as before.
 */
@Timeout(900)
class LegacyFoldersTest {
  @TempDir Path dir;

  @Test
  void everyTypedFolderOpensTheFirstFormat() {
    CalibrationFolder c = CalibrationFolder.open(TestFolders.v1("calibration").toString());
    assertEquals(FolderManifest.FIRST, c.manifest().version());
    assertEquals(FolderKind.CALIBRATION, c.manifest().kind());
    assertTrue(c.preprocessing().isEmpty());
    assertEquals(8, c.quantInfo().config().weightBits());
    assertEquals("x", c.floatModel().graph().inputs().get(0).name());

    CalibrationFolder q = CalibrationFolder.open(TestFolders.v1("qat").toString());
    assertEquals(FolderKind.QAT, q.manifest().kind());
    assertEquals(2L, ((Number) QatFolder.history(TestFolders.v1("qat").toString()).orElseThrow().epochs().get(0)
        .get("steps")).longValue());

    DeployFolder d = DeployFolder.open(TestFolders.v1("deploy").toString());
    assertEquals(FolderKind.DEPLOY, d.manifest().kind());
    assertTrue(d.preprocessing().isEmpty());
    assertTrue(d.deployModel().getLayersCount() > 0);

    assertTrue(SimulationFolder.report(TestFolders.v1("simulation").toString()).containsKey("simulation"));
  }

  @Test
  void deployEvaluateAndSimulateTakeThem() throws Exception {
    String[] flags = {"--data", Run.sampleImages(), "--limit", "200", "--mean", "72.94", "--std", "90.02", "--master",
        "local[2]"};
    Run sim = Run.of(cat(new String[] {"simulate", "--deploy", TestFolders.v1("deploy").toString()}, flags));
    assertEquals(0, sim.code(), sim.err());
    assertTrue(sim.out().contains("mismatches: 0"), sim.out());
    Run eval = Run.of(cat(new String[] {"evaluate", "--model", TestFolders.v1("calibration").toString()}, flags));
    assertEquals(0, eval.code(), eval.err());
    assertEquals(last(eval), last(sim), "the simulated top-1 is the fake-quant model's");

    Path out = dir.resolve("from-qat");
    Run dep = Run.of("deploy", "--calib", TestFolders.v1("qat").toString(), "--out", out.toString());
    assertEquals(0, dep.code(), dep.err());
    assertTrue(Files.size(out.resolve("deploy_model.pb")) > 0);
    assertTrue(Files.readString(out.resolve("folder.json")).contains("\"kind\": \"deploy\""));
  }

  @Test
  void aFolderOfANewerFormatIsOneLine() throws Exception {
    Path f = TestFolders.copy(TestFolders.v1("calibration"), dir.resolve("newer"));
    Files.writeString(f.resolve("folder.json"), "{\"format\": \"qspark-folder/3\", \"kind\": \"calibration\"}");
    String line = CliErrorsTest.userError("deploy", "--calib", f.toString(), "--out", dir.resolve("d").toString());
    CliErrorsTest.assertContains(line, f.toString(), "newer qspark (folder format 3)", "formats up to 2");
    Path notCalib = TestFolders.copy(TestFolders.v1("simulation"), dir.resolve("sim"));
    CliErrorsTest.assertContains(CliErrorsTest.userError("deploy", "--calib", notCalib.toString(), "--out",
        dir.resolve("d2").toString()), "is not a calibration folder", "quant_info.json");
  }

  private static String last(Run r) {
    String[] l = r.out().strip().split("\\R");
    return l[l.length - 1];
  }

  private static String[] cat(String[] a, String[] b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}

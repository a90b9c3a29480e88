package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Folders say how they were made: the preprocessing of their model inputs (folder.json), which
 * evaluate and simulate then apply without flags, a contradicting flag being a one-line error
 * unless --override-preprocessing; and report.json's provenance (build, model digest, data,
 * settings as JSON). With nothing given or recorded, raw-looking inputs draw a warning.
 */
@Timeout(1200)
class SelfDescribingFoldersTest {
  @TempDir static Path dir;
  static Path calib, deploy;

  @BeforeAll
  static void calibrateAndDeploy() {
    calib = dir.resolve("calib");
    deploy = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "200", "--out", calib.toString(), "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", deploy.toString());
    assertEquals(0, d.code(), d.err());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> json(Path file) throws Exception {
    return (Map<String, Object>) Json.read(Files.readString(file));
  }

  static String lastLine(Run r) {
    String[] lines = r.out().strip().split("\\R");
    return lines[lines.length - 1];
  }

  static List<String> warnings(Run r) {
    return r.errorLines().stream().filter(l -> l.startsWith("qspark: warning: ")).toList();
  }

  @Test
  @SuppressWarnings("unchecked")
  void calibrationAndDeployFoldersRecordThePreprocessing() throws Exception {
    for (Path f : List.of(calib, deploy)) {
      Map<String, Object> m = json(f.resolve("folder.json"));
      assertEquals("qspark-folder/2", m.get("format"), f.toString());
      Map<String, Object> p = (Map<String, Object>) m.get("preprocessing");
      assertEquals("input", p.get("input"));
      assertEquals("pixels", p.get("source"));
      assertEquals("NCHW", p.get("layout"));
      assertEquals(List.of(1L, 28L, 28L), p.get("shape"));
      assertEquals(List.of(72.94), p.get("mean"));
      assertEquals(List.of(90.02), p.get("std"));
      assertEquals(255.0, p.get("raw_scale"));
      assertEquals(null, p.get("resize"));
      assertEquals(p, json(f.resolve("report.json")).get("preprocessing"), "report.json says the same");
    }
    assertEquals("calibration", json(calib.resolve("folder.json")).get("kind"));
    assertEquals("deploy", json(deploy.resolve("folder.json")).get("kind"));
  }

  @Test
  void simulateAndEvaluateApplyTheRecordWithoutFlags() {
    String[] data = {"--data", Run.sampleImages(), "--limit", "200", "--master", "local[2]"};
    Run bare = Run.of(concat(new String[] {"simulate", "--deploy", deploy.toString()}, data));
    assertEquals(0, bare.code(), bare.err());
    assertEquals(List.of(), warnings(bare), "nothing to warn about: the folder says how");
    assertTrue(bare.out().contains("preprocessing  mean 72.94, std 90.02, raw scale 255"), bare.out());
    Run flags = Run.of(concat(new String[] {"simulate", "--deploy", deploy.toString(), "--mean", "72.94", "--std", "90.02"},
        data));
    assertEquals(0, flags.code(), flags.err());
    assertEquals(lastLine(flags), lastLine(bare), "the same top-1 with the flags as without");
    assertTrue(bare.out().contains("mismatches: 0"), bare.out());

    Run evalBare = Run.of(concat(new String[] {"evaluate", "--model", calib.toString()}, data));
    Run evalFlags = Run.of(concat(new String[] {"evaluate", "--model", calib.toString(), "--mean", "72.94", "--std",
        "90.02"}, data));
    assertEquals(0, evalBare.code(), evalBare.err());
    assertEquals(lastLine(evalFlags), lastLine(evalBare));
    assertEquals(lastLine(evalBare), lastLine(bare), "the simulator's top-1 is the calibrated model's");
  }

  @Test
  void aContradictingFlagIsOneLineUnlessOverridden() {
    String[] base = {"simulate", "--deploy", deploy.toString(), "--data", Run.sampleImages(), "--limit", "100", "--mean", "0",
        "--master", "local[2]"};
    String line = CliErrorsTest.userError(base);
    CliErrorsTest.assertContains(line, "--mean 0 (recorded: 72.94) contradicts the preprocessing recorded in " + deploy,
        "--override-preprocessing");
    Run over = Run.of(concat(base, new String[] {"--override-preprocessing"}));
    assertEquals(0, over.code(), over.err());
    assertTrue(over.out().contains("preprocessing  mean 0, std 90.02, raw scale 255"), "given wins, record fills: " + over.out());
    Run same = Run.of(concat(new String[] {"evaluate", "--model", calib.toString(), "--std", "90.02", "--crop", "28"},
        new String[] {"--data", Run.sampleImages(), "--limit", "50", "--master", "local[2]"}));
    assertEquals(2, same.code(), "--crop 28 where none is recorded contradicts too: " + same.err());
    assertTrue(same.err().contains("--crop 28 (recorded: none)"), same.err());
  }

  @Test
  @SuppressWarnings("unchecked")
  void reportJsonSaysHowTheFolderWasMade() throws Exception {
    Map<String, Object> p = (Map<String, Object>) json(calib.resolve("report.json")).get("provenance");
    Map<String, Object> build = (Map<String, Object>) p.get("qspark");
    assertTrue(String.valueOf(build.get("version")).matches("\\d+\\.\\d+\\.\\d+.*"), build.toString());
    assertTrue(String.valueOf(build.get("git_commit")).matches("[0-9a-f]{40}|unknown"), build.toString());
    Map<String, Object> model = (Map<String, Object>) p.get("model");
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(Path.of(Run.sampleModel()))));
    assertEquals(sha, model.get("sha256"));
    assertEquals(Run.sampleModel(), model.get("location"));
    Map<String, Object> data = (Map<String, Object>) p.get("data");
    assertEquals(200L, data.get("images"));
    assertEquals(Run.sampleImages(), data.get("location"));
    Map<String, Object> digest = (Map<String, Object>) data.get("digest");
    assertTrue(String.valueOf(digest.get("sha256")).matches("[0-9a-f]{64}"), digest.toString());
    Map<String, Object> settings = (Map<String, Object>) p.get("settings");
    assertEquals(200L, settings.get("calib_size"));
    assertEquals("mse", ((Map<String, Object>) settings.get("quantization")).get("method"));
    assertEquals(List.of(72.94), ((Map<String, Object>) settings.get("preprocessing")).get("mean"));
    Map<String, Object> dp = (Map<String, Object>) json(deploy.resolve("report.json")).get("provenance");
    assertEquals(calib.toString(), ((Map<String, Object>) dp.get("settings")).get("calib"));
  }

  @Test
  void rawLookingInputsWithNothingGivenOrRecordedDrawAWarning() {
    String[] base = {"evaluate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "100", "--master",
        "local[2]"};
    Run raw = Run.of(base);
    assertEquals(0, raw.code(), raw.err());
    List<String> w = warnings(raw);
    assertEquals(1, w.size(), raw.err());
    CliErrorsTest.assertContains(w.get(0), "no preprocessing given or recorded", "--mean", "--std");
    Run normalized = Run.of(concat(base, new String[] {"--mean", "72.94", "--std", "90.02"}));
    assertEquals(0, normalized.code(), normalized.err());
    assertEquals(List.of(), warnings(normalized));
    Run deliberate = Run.of(concat(base, new String[] {"--mean", "0", "--std", "1"}));
    assertEquals(List.of(), warnings(deliberate), "given explicitly: no warning");
    assertNotEquals(lastLine(raw), lastLine(normalized));
    assertFalse(raw.err().contains("\tat "));
  }

  static String[] concat(String[] a, String[] b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}

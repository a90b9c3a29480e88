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

/** compare-dumps and simulate --dump refuse bad input in one line, exit code 2, before any work. */
class CompareDumpsCommandTest {
  @TempDir Path dir;

  @Test
  void foldersThatAreNotDumpsAreNamed() throws IOException {
    Path a = Files.createDirectories(dir.resolve("a"));
    Run r = Run.of("compare-dumps", a.toString(), a.toString());
    assertEquals(2, r.code(), r.err());
    assertEquals(List.of("qspark: error: " + a + ": no dump.json: not a qspark golden dump"), r.errorLines());

    Files.writeString(a.resolve("dump.json"), "{\"format\": \"qspark-golden-dump/1\", \"units\": 0, \"layers\": []}");
    r = Run.of("compare-dumps", a.toString(), a.toString());
    assertEquals(2, r.code(), r.err());
    assertEquals(List.of("qspark: error: " + a + "/dump.json: units 0 is not a positive integer"), r.errorLines());

    Run usage = Run.of("compare-dumps", a.toString());
    assertEquals(2, usage.code());
    assertTrue(usage.err().contains("Missing required parameter: 'B'"), usage.err());
  }

  @Test
  void dumpImagesOutOfRangeIsAUsageError() {
    Path dump = dir.resolve("dump");
    for (String n : new String[] {"0", "1001"}) {
      Run r = Run.of("simulate", "--deploy", dir.resolve("none").toString(), "--data", Run.sampleImages(), "--dump", dump.toString(),
          "--dump-images", n);
      assertEquals(2, r.code(), r.err());
      assertTrue(r.err().startsWith("qspark: error: --dump-images "), r.err());
      assertFalse(Files.exists(dump));
    }
  }

  /** The dump is an output of the run: never on its inputs, nor on --out. */
  @Test
  void theDumpLandsOnNoInputAndNotOnOut() {
    Path deploy = dir.resolve("deploy"), out = dir.resolve("report");
    Run onOut = Run.of("simulate", "--deploy", deploy.toString(), "--data", Run.sampleImages(), "--out", out.toString(),
        "--dump", out.resolve("dump").toString());
    assertEquals(2, onOut.code(), onOut.err());
    assertEquals(1, onOut.errorLines().size(), onOut.err());
    assertTrue(onOut.err().contains("--out"), onOut.err());
    Run onDeploy = Run.of("simulate", "--deploy", deploy.toString(), "--data", Run.sampleImages(), "--dump", deploy.toString());
    assertEquals(2, onDeploy.code(), onDeploy.err());
    assertTrue(onDeploy.err().contains("--deploy"), onDeploy.err());
    assertFalse(Files.exists(out));
  }
}

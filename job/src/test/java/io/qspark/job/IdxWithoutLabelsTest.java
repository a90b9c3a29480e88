package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An IDX images file with no labels file beside it: unlabelled images, which calibration (of a
 * classifier too) takes; scoring a classifier by top-1 says in one line that it needs labels.
 */
class IdxWithoutLabelsTest {
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void calibrateTakesThemEvaluateAsksForLabels(@TempDir Path dir) throws Exception {
    Path images = Files.copy(Run.samples().resolve("fashion-mnist-1k/t10k-images-idx3-ubyte.gz"),
        dir.resolve("t10k-images-idx3-ubyte.gz"));
    Path cal = dir.resolve("calib");
    Run c = Run.of("calibrate", "--model", Run.sampleModel(), "--data", images.toString(), "--calib-size", "64", "--mean",
        "72.94", "--std", "90.02", "--out", cal.toString(), "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    assertTrue(Files.isRegularFile(cal.resolve("quant_info.json")));
    assertTrue(Files.readString(cal.resolve("report.json")).contains("64 images 1x28x28, unlabelled"),
        Files.readString(cal.resolve("report.json")));

    Path pred = dir.resolve("pred");
    Run e = Run.of("evaluate", "--model", Run.sampleModel(), "--data", images.toString(), "--predictions", pred.toString(),
        "--master", "local[2]");
    List<String> lines = e.errorLines();
    assertEquals(2, e.code(), e.err());
    assertEquals(1, lines.size(), e.err());
    assertTrue(lines.get(0).startsWith("qspark: error: no labels for " + images), lines.get(0));
    assertFalse(Files.exists(pred), "nothing written");
  }
}

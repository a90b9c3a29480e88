package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run stopped by SIGTERM (in a child JVM, as Airflow or Kubernetes stop a task) ends with one
 * line and no stack trace, leaving neither output nor temporary folder; and a QAT run resumed
 * over a damaged newest checkpoint (truncated, or a flipped bit with and without Hadoop's .crc
 * beside it) continues from the previous intact one and ends with the same model as an
 * uninterrupted run. Slow: five runs, QAT's among them, two in a child JVM.
 */
@Tag("slow")
class StopAndResumeTest {
  @TempDir Path tmp;

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void sigtermDuringCalibrateStopsWithOneLineAndLeavesNothing() throws Exception {
    Path out = tmp.resolve("out"), log = tmp.resolve("child.log");
    List<String> cmd = Run.childJvm();
    // a million synthetic images: the statistics job runs for minutes unless stopped
    cmd.addAll(List.of("calibrate", "--model", Run.sampleModel(), "--data", "synthetic:1000000", "--calib-size", "1000000",
        "--master", "local[2]", "--out", out.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    // the progress line (every 10 s) says the Spark job is running
    while (p.isAlive() && System.nanoTime() < deadline && !Files.readString(log).contains(" of 1,000,000 images")) Thread.sleep(200);
    assertTrue(p.isAlive(), "ended before it could be stopped: " + Files.readString(log));
    assertTrue(Files.readString(log).contains(" of 1,000,000 images"), "no progress line: " + Files.readString(log));
    p.destroy(); // SIGTERM
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "still running after SIGTERM");
    String err = Files.readString(log);
    assertEquals(143, p.exitValue(), err);
    assertFalse(err.contains("\tat "), "no stack trace: " + err);
    assertFalse(err.lines().anyMatch(l -> l.matches("\\d\\d:\\d\\d:\\d\\d (ERROR|WARN) .*")), "no error logged: " + err);
    List<String> errors = err.lines().filter(l -> l.startsWith("qspark: error:")).toList();
    assertEquals(List.of("qspark: error: stopped by SIGTERM; the output was not written"), errors, err);
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of("child.log"), s.map(x -> x.getFileName().toString()).toList(), "no output, no temporary folder");
    }
  }

  private static List<String> qat(Path out, Path checkpoints, String... more) {
    List<String> a = new ArrayList<>(List.of("qat", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "128",
        "--mean", "72.94", "--std", "90.02", "--bits", "4", "--calib-size", "64", "--epochs", "1", "--batch-size", "64",
        "--micro-batch", "32", "--lr", "0.005", "--checkpoint-every", "1", "--master", "local[2]", "--out", out.toString(),
        "--checkpoint-dir", checkpoints.toString()));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void resumeSkipsADamagedNewestCheckpointAndEndsWithTheSameModel() throws Exception {
    Path whole = tmp.resolve("whole"), ck = tmp.resolve("ck");
    Run a = Run.of(qat(whole, ck).toArray(String[]::new));
    assertEquals(0, a.code(), a.err());
    Path newest = ck.resolve("step-000000002");
    assertTrue(Files.isRegularFile(newest.resolve("SHA256SUMS")), "kept: --checkpoint-dir");
    assertTrue(Files.isRegularFile(newest.resolve(".state.bin.crc")), "the local file system keeps Hadoop's checksums");

    String[] damages = {"truncated", "bit flip, .crc kept", "bit flip, no .crc"};
    for (int i = 0; i < damages.length; i++) {
      Path c = TestData.copy(ck, tmp.resolve("ck" + i)), step = c.resolve("step-000000002"), state = step.resolve("state.bin");
      byte[] b = Files.readAllBytes(state);
      if (i == 0) b = Arrays.copyOf(b, b.length / 2);
      else b[b.length / 3] ^= 0x04;
      // .crc kept: Hadoop's checksum fails the read; removed (as on object stores): only qspark's sha256 sees it
      if (i != 1) Files.delete(step.resolve(".state.bin.crc"));
      Files.write(state, b);
      Path out = tmp.resolve("resumed" + i);
      Run r = Run.of(qat(out, c, "--resume").toArray(String[]::new));
      assertEquals(0, r.code(), damages[i] + ": " + r.err());
      assertTrue(r.err().contains("qspark: warning: damaged checkpoint step-000000002"), damages[i] + ": " + r.err());
      assertTrue(r.err().contains("resuming from step-000000001 instead"), r.err());
      assertTrue(r.err().contains("qat: resuming at step 1 "), r.err());
      for (String f : List.of("float_model.onnx", "quant_info.json", "quantize_eval_model.onnx")) {
        assertArrayEquals(Files.readAllBytes(whole.resolve(f)), Files.readAllBytes(out.resolve(f)), damages[i] + ": " + f);
      }
      assertTrue(Files.isRegularFile(step.resolve("SHA256SUMS")), "the damaged checkpoint was written anew");
    }
  }
}

package io.qspark.job;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `qspark qat` end to end on the bundled sample (256 images, resnet_s at W4A4, batch 64 in
 * micro-batches of 32, 2 epochs of 4 steps, BatchNorm folded at step 6): its folder deploys and
 * simulates bit-exactly (with fixed and with learned thresholds), it holds the training
 * history, and a run killed (SIGKILL, in a child JVM) after its first checkpoint leaves no output
 * folder and, resumed, ends with the same bytes as an uninterrupted run (learning thresholds).
 */
@Tag("slow")
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class QatCommandTest {
  @TempDir Path tmp;
  private static final String[] TQT = {"--learn-thresholds", "--threshold-lr-scale", "20"};

  private static List<String> args(Path out, String... more) {
    List<String> a = new ArrayList<>(List.of("qat", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "256",
        "--mean", "72.94", "--std", "90.02", "--bits", "4", "--calib-size", "128", "--epochs", "2", "--batch-size", "64",
        "--micro-batch", "32", "--lr", "0.005", "--freeze-bn-step", "6", "--checkpoint-every", "1", "--master", "local[2]",
        "--out", out.toString()));
    a.addAll(List.of(more));
    return a;
  }

  /**
   * A step whose gradient parts exceed spark.driver.maxResultSize (here 1 MiB against 8 parts of
   * resnet_s's ~176,000 trainable values, 0.7 MB each) fails before training in one line that
   * names the setting and the micro-batch count, instead of Spark aborting the first step's job;
   * nothing is left beside the output's place. A child JVM: the limit is Spark's conf.
   */
  @Test
  void aStepOverTheDriversResultLimitIsOneLineBeforeTraining(@TempDir Path logs) throws Exception {
    Path out = tmp.resolve("qat");
    List<String> cmd = Run.childJvm();
    cmd.add(1, "-Dspark.driver.maxResultSize=1m");
    List<String> a = args(out);
    a.set(a.indexOf("--micro-batch") + 1, "8");
    cmd.addAll(a.subList(1, a.size()));
    cmd.add(cmd.indexOf("io.qspark.job.Main") + 1, "qat");
    Path log = logs.resolve("err.txt");
    Process p = new ProcessBuilder(cmd).redirectOutput(logs.resolve("out.txt").toFile()).redirectError(log.toFile()).start();
    assertTrue(p.waitFor(10, TimeUnit.MINUTES));
    String err = Files.readString(log);
    assertEquals(2, p.exitValue(), err);
    // the JVM's incubator warning and Spark's INFO stage lines aside, one error line and no trace
    List<String> lines = err.lines().filter(l -> l.startsWith("qspark: error:")).toList();
    assertEquals(1, lines.size(), err);
    assertFalse(err.contains("Exception") || err.contains("\tat "), err);
    assertTrue(lines.get(0).contains("8 micro-batches a step") && lines.get(0).contains("spark.driver.maxResultSize (1.0 MiB)"), err);
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of(), s.map(x -> x.getFileName().toString()).toList(), "nothing written");
    }
  }

  @Test
  void outputDeploysAndSimulatesBitExactly() throws Exception {
    Path out = tmp.resolve("qat");
    Run q = Run.of(args(out, "--val-data", Run.sampleImages()).toArray(String[]::new));
    assertEquals(0, q.code(), q.err());
    assertTrue(q.err().contains("qat: epoch 2, step 4/4, loss"), q.err());
    // the default checkpoints beside the folder are gone once it is in place
    assertFalse(Files.exists(tmp.resolve("qat.checkpoints")));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of("qat"), s.map(p -> p.getFileName().toString()).toList(), "only the output folder");
    }
    // one history row per epoch (--log-every 20 > 4 steps), validation top-1 on each
    List<String> csv = Files.readAllLines(out.resolve("train_history.csv"));
    assertEquals("epoch,step,lr,loss,train_top1,images_per_second,val_top1", csv.get(0));
    assertEquals(3, csv.size(), csv.toString());
    assertTrue(csv.get(2).startsWith("2,8,"), csv.toString());
    String top1 = q.out().lines().filter(l -> l.startsWith("top1: ")).findFirst().orElseThrow();
    String[] last = csv.get(2).split(",");
    assertEquals(Double.parseDouble(top1.substring(6)), Double.parseDouble(last[last.length - 1]), 1e-9, csv + " vs " + top1);
    assertTrue(Files.readString(out.resolve("train_history.json")).contains("\"history\""));
    deploysAndSimulates(out, top1);
  }

  /** TQT: the learned fix_points (some differ from the calibration's) deploy and simulate bit-exactly too. */
  @Test
  void learnedThresholdsDeployAndSimulateBitExactly() throws Exception {
    Path out = tmp.resolve("tqt");
    Run q = Run.of(args(out, "--val-data", Run.sampleImages(), "--learn-thresholds", "--threshold-lr-scale", "20",
        "--log-every", "2").toArray(String[]::new));
    assertEquals(0, q.code(), q.err());
    String report = Files.readString(out.resolve("report.json"));
    Map<?, ?> moved = (Map<?, ?>) ((Map<?, ?>) Json.read(report)).get("learned_fix_points");
    assertFalse(moved.isEmpty(), "no fix_point moved: " + report);
    assertEquals(5, Files.readAllLines(out.resolve("train_history.csv")).size(), "a row every 2 steps");
    deploysAndSimulates(out, q.out().lines().filter(l -> l.startsWith("top1: ")).findFirst().orElseThrow());
  }

  private void deploysAndSimulates(Path out, String top1) {
    Path dep = tmp.resolve(out.getFileName() + "-dpu");
    Run d = Run.of("deploy", "--calib", out.toString(), "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02",
        "--master", "local[2]");
    assertEquals(0, s.code(), s.err());
    assertTrue(s.out().contains("mismatches: 0"), s.out());
    // the simulated integer model scores what the job's last validation measured
    assertTrue(s.out().contains(top1), s.out() + " vs " + top1);
  }

  @Test
  void killedAndResumedEndsWithTheSameModel() throws Exception {
    Path whole = tmp.resolve("whole"), killed = tmp.resolve("killed");
    // with learned thresholds: their values and optimizer state must come back from the checkpoint too
    Run a = Run.of(args(whole, TQT).toArray(String[]::new));
    assertEquals(0, a.code(), a.err());

    List<String> cmd = Run.childJvm();
    cmd.addAll(args(killed, TQT));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    Path checkpoints = tmp.resolve("killed.checkpoints");
    boolean alive = true;
    while (p.isAlive() && !hasCheckpoint(checkpoints)) Thread.sleep(50);
    alive = p.isAlive();
    p.destroyForcibly().waitFor();
    assertTrue(alive, "the child ended before it could be killed: " + Files.readString(tmp.resolve("child.log")));
    assertFalse(Files.exists(killed), "killed after the end, or a half folder left");

    Run r = Run.of(args(killed, "--learn-thresholds", "--threshold-lr-scale", "20", "--resume").toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("qat: resuming at step "), r.err());
    for (String f : List.of("float_model.onnx", "quant_info.json", "quantize_eval_model.onnx")) {
      assertArrayEquals(Files.readAllBytes(whole.resolve(f)), Files.readAllBytes(killed.resolve(f)), f);
    }
    // the history came back with the checkpoint: the same rows (epoch, step, lr; a row's loss and
    // rate average the steps since the previous row, which after a resume start at the resume)
    assertEquals(historyColumns(whole), historyColumns(killed));
  }

  private static List<String> historyColumns(Path dir) throws Exception {
    return Files.readAllLines(dir.resolve("train_history.csv")).stream().map(l -> String.join(",", List.of(l.split(",", -1)).subList(0, 3)))
        .toList();
  }

  private static boolean hasCheckpoint(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) return false;
    try (Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(p -> p.getFileName().toString().startsWith("step-") && Files.exists(p.resolve("state.bin")));
    }
  }
}

package io.qspark.job;

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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `qspark qat` on models that are not classifiers, trained by distillation from the float model
 * without labels: the YOLOv5-shaped detector of ../shared/models/realworld (three heads) and the
 * two-input siamese model (two outputs), W6A6, a few steps on a handful of synthetic images.
 * Each folder deploys and simulates with 0 mismatches on every output; the summary and
 * report.json give every output's fidelity against the float model; the trained model is the
 * same bytes for 1 and 3 partitions; and a run killed (SIGKILL, in a child JVM) after its first
 * checkpoint, resumed, ends with the same bytes as an uninterrupted run.
 */
@Tag("slow")
// a hang guard for a test that waits on processes, not a speed limit
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class QatDistillationTest {
  @TempDir Path tmp;

  private static List<String> yolo(Path out, int images, String... more) {
    List<String> a = new ArrayList<>(List.of("qat", "--model", RealWorldModelsTest.model("tiny_yolo"), "--data",
        "synthetic:" + images, "--bits", "6", "--calib-size", "6", "--epochs", "1", "--batch-size", "6", "--micro-batch", "2",
        "--optimizer", "adam", "--lr", "0.0001", "--checkpoint-every", "1", "--master", "local[2]", "--out", out.toString()));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  @SuppressWarnings("unchecked")
  void tinyYoloTrainsByDistillationTheSameForAnyPartitionsAndSimulatesBitExactly() throws Exception {
    Path three = tmp.resolve("p3"), one = tmp.resolve("p1");
    Run a = Run.of(yolo(three, 12, "--partitions", "3").toArray(String[]::new));
    assertEquals(0, a.code(), a.err());
    Run b = Run.of(yolo(one, 12, "--partitions", "1").toArray(String[]::new));
    assertEquals(0, b.code(), b.err());
    for (String f : List.of("float_model.onnx", "quant_info.json", "quantize_eval_model.onnx")) {
      assertArrayEquals(Files.readAllBytes(three.resolve(f)), Files.readAllBytes(one.resolve(f)), f);
    }
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(three.resolve("report.json")));
    assertEquals(3L, ((Map<String, Object>) report.get("pass_partitions")).get("training"), report.toString());
    assertEquals("distillation", report.get("loss"));
    assertEquals(List.of("p3", "p4", "p5"), new ArrayList<>(((Map<String, Object>) report.get("outputs_against_float")).keySet()));
    assertEquals(List.of("p3", "p4", "p5"), new ArrayList<>(((Map<String, Object>) report.get("ptq_outputs_against_float")).keySet()));
    for (Object v : ((Map<String, Object>) report.get("output_variances")).values()) assertTrue(((Number) v).doubleValue() > 0);
    // the summary: the loss, every output's table row and, last, a line `sqnr <output>: <dB>` each
    List<String> lines = a.out().strip().lines().toList();
    assertTrue(lines.contains("loss: distillation"), a.out());
    int n = lines.size();
    for (int i = 0; i < 3; i++) assertTrue(lines.get(n - 3 + i).matches("sqnr p" + (3 + i) + ": -?\\d+\\.\\d\\d"), a.out());
    assertFalse(a.err().contains("train top-1"), a.err());
    // no classes: the history's train top-1 column is empty
    List<String> csv = Files.readAllLines(three.resolve("train_history.csv"));
    assertTrue(csv.get(1).matches("1,2,[^,]+,[^,]+,,.*"), csv.toString());
    deploysAndSimulates(three, List.of("p3", "p4", "p5"), "--data", "synthetic:12");
  }

  @Test
  void siameseTrainsOnItsTwoInputsAndSimulatesBitExactly() throws Exception {
    Path out = tmp.resolve("siamese");
    Run q = Run.of("qat", "--model", RealWorldModelsTest.model("siamese2"), "--data", "synthetic:16", "--bits", "6",
        "--calib-size", "16", "--epochs", "1", "--batch-size", "8", "--micro-batch", "4", "--optimizer", "adam", "--lr", "0.0001",
        "--master", "local[2]", "--out", out.toString());
    assertEquals(0, q.code(), q.err());
    assertTrue(q.out().contains("sqnr logits: ") && q.out().contains("sqnr embedding: "), q.out());
    deploysAndSimulates(out, List.of("logits", "embedding"), "--data", "synthetic:16");
  }

  private void deploysAndSimulates(Path out, List<String> outputs, String... data) {
    Path dep = tmp.resolve(out.getFileName() + "-dpu");
    Run d = Run.of("deploy", "--calib", out.toString(), "--target", "b4096", "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    Run s = Run.of(RealWorldModelsTest.args(data, "simulate", "--deploy", dep.toString(), "--master", "local[2]"));
    assertEquals(0, s.code(), s.err());
    List<String> lines = s.out().lines().toList();
    for (String o : outputs) assertTrue(lines.contains("mismatches " + o + ": 0"), s.out());
    assertTrue(lines.contains("mismatches: 0"), s.out());
  }

  @Test
  void killedAndResumedEndsWithTheSameModel() throws Exception {
    Path whole = tmp.resolve("whole"), killed = tmp.resolve("killed");
    Run a = Run.of(yolo(whole, 18).toArray(String[]::new));
    assertEquals(0, a.code(), a.err());

    List<String> cmd = Run.childJvm();
    cmd.addAll(yolo(killed, 18));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    Path checkpoints = tmp.resolve("killed.checkpoints");
    while (p.isAlive() && !hasCheckpoint(checkpoints)) Thread.sleep(50);
    boolean alive = p.isAlive();
    p.destroyForcibly().waitFor();
    assertTrue(alive, "the child ended before it could be killed: " + Files.readString(tmp.resolve("child.log")));
    assertFalse(Files.exists(killed), "killed after the end, or a half folder left");

    Run r = Run.of(yolo(killed, 18, "--resume").toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("qat: resuming at step "), r.err());
    for (String f : List.of("float_model.onnx", "quant_info.json", "quantize_eval_model.onnx")) {
      assertArrayEquals(Files.readAllBytes(whole.resolve(f)), Files.readAllBytes(killed.resolve(f)), f);
    }
  }

  @Test
  void aDistillationWeightOutsideZeroToOneIsRefusedInOneLine() {
    Run r = Run.of(yolo(tmp.resolve("bad"), 6, "--distill-weight", "1.5").toArray(String[]::new));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--distill-weight must be in [0, 1], got 1.5"), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertFalse(Files.exists(tmp.resolve("bad")));
  }

  private static boolean hasCheckpoint(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) return false;
    try (Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(p -> p.getFileName().toString().startsWith("step-") && Files.exists(p.resolve("state.bin")));
    }
  }
}

package io.qspark.job;

import io.qspark.kernels.tensor.ArgMax;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `evaluate` as a Spark local[2] job on the bundled 1,000 Fashion-MNIST test images. */
@Tag("slow")
class EvaluateSparkTest {
  private static final int N = 1000;

  /**
   * Top-1 correct count of the single-JVM executor on the first N test images (the bundled
   * sample), on the inference graph tasks run (BatchNorm folded).
   */
  static int singleJvmCorrect() throws Exception {
    Executor ex = new Executor(Model.load(Path.of(Run.sampleModel())).forInference().graph());
    Tensor x = Shared.testImages(N);
    int[] labels = Shared.testLabels(N);
    int correct = 0;
    for (int i = 0; i < N; i += 250) {
      float[] y = ex.run(x.slice0(i, i + 250)).data();
      for (int b = 0; b < 250; b++) {
        if (ArgMax.of(y, b * 10, 10) == labels[i + b]) correct++;
      }
    }
    return correct;
  }

  static Run evaluate(String... extra) {
    String[] base = {"evaluate", "--model", Run.sampleModel(), "--data", Run.sampleImages(),
        "--mean", "72.94", "--std", "90.02", "--master", "local[2]"};
    String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    Run r = Run.of(args);
    assertEquals(0, r.code(), r.err());
    return r;
  }

  /** The per-class table and the top-k lines: everything but timings and the partition count. */
  static List<String> results(Run r) {
    return r.out().lines().filter(l -> l.matches("^\\s*(\\d+|all)\\s+\\d+.*") || l.startsWith("top"))
        .collect(Collectors.toList());
  }

  @Test
  void top1EqualsSingleJvmAndDoesNotDependOnPartitioning() throws Exception {
    int correct = singleJvmCorrect();
    Run one = evaluate("--partitions", "1");
    Run three = evaluate("--partitions", "3", "--batch", "50");

    String[] lines = one.out().strip().split("\\R");
    assertEquals(String.format(Locale.ROOT, "top1: %.2f", 100.0 * correct / N), lines[lines.length - 1],
        "last line, as scripts read it");
    assertTrue(one.out().matches("(?s).*\n\\s+all\\s+" + N + "\\s+" + correct + "\\s.*"), one.out());
    assertTrue(one.out().contains("local[2], 1 partitions"), one.out());
    assertTrue(three.out().contains("local[2], 3 partitions, batch 50"), three.out());
    assertEquals(13, results(one).size(), one.out()); // 10 classes, all, top5, top1
    assertEquals(results(one), results(three));
  }

  @Test
  void badLabelFoundInsideATaskIsStillAUserError(@TempDir Path dir) throws Exception {
    // label 12 for a 10-class model: only a task sees it, so the error crosses Spark on its way out
    ByteBuffer labels = ByteBuffer.allocate(8 + 1000).putInt(0x0801).putInt(1000);
    for (int i = 0; i < 1000; i++) labels.put((byte) (i == 700 ? 12 : 3));
    Path l = Files.write(dir.resolve("t10k-labels-idx1-ubyte"), labels.array());
    Run r = Run.of("evaluate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--labels", l.toString(),
        "--mean", "72.94", "--std", "90.02", "--master", "local[2]", "--limit", "800");
    assertEquals(2, r.code(), r.err());
    assertEquals(List.of("qspark: error: image 700 has label 12 but the model has 10 classes"), r.errorLines());
  }
}

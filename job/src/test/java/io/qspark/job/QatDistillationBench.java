package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.RealWorld;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * QAT by distillation against PTQ on the YOLOv5-shaped detector of ../shared/models/realworld at
 * W6A6 (issue 17): `calibrate --bits 6 --method mse` on Fashion-MNIST training images 0-255, and
 * `qat --bits 6` (the same calibration, then one epoch of distillation from the float model over
 * training images 0-9,999), both with the realworld README's preprocessing (pixels
 * (p - 72.94) / 90.02, resized to 160x160, gray repeated to RGB). Per-output SQNR against the
 * float model on training images 1000-1063, as BENCHMARKS.md's issue-17 section measures:
 * `evaluate`'s `sqnr <output>:` lines for the calibration, and qat's own figures on the same
 * images given as --val-data (they compare with the float model given; `evaluate` of a qat folder
 * would compare with the trained float graph). Prints the commands and both tables. Run with
 * {@code mvn -o test -pl job -am -Pbench -Dtest=QatDistillationBench -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dqspark.bench.images=N} for a shorter epoch).
 */
@Tag("bench")
class QatDistillationBench {
  @Test
  @SuppressWarnings("unchecked")
  void tinyYoloW6A6() throws Exception {
    Path dir = Files.createDirectories(Path.of("target", "qat-distillation").toAbsolutePath());
    int images = Integer.getInteger("qspark.bench.images", 10_000);
    String train = withZeroLabels(RealWorldSqnrBench.idx(dir.resolve("train-images-idx3-ubyte"), 0, images), images);
    String eval = withZeroLabels(RealWorldSqnrBench.idx(dir.resolve("eval-images-idx3-ubyte"), 1000, 64), 64);
    String model = RealWorld.model("tiny_yolo.onnx").toString();
    String[] common = {"--model", model, "--data", train, "--mean", "72.94", "--std", "90.02", "--resize", "160", "--gray-to-rgb",
        "--bits", "6", "--method", "mse", "--calib-size", "256", "--overwrite", "--master", "local[2]"};
    Path cal = dir.resolve("calib"), qat = dir.resolve("qat");

    long t0 = System.nanoTime();
    String[] c = concat(new String[] {"calibrate"}, common, "--out", cal.toString());
    Run cr = Run.of(c);
    assertEquals(0, cr.code(), cr.err());
    Run er = Run.of("evaluate", "--model", cal.toString(), "--data", eval, "--master", "local[2]");
    assertEquals(0, er.code(), er.err());
    System.out.printf("calibrate (%.0f s): qspark %s%n", (System.nanoTime() - t0) / 1e9, String.join(" ", c));
    er.out().lines().filter(l -> l.startsWith("sqnr ")).forEach(l -> System.out.println("  " + l));

    long t1 = System.nanoTime();
    String[] q = concat(new String[] {"qat"}, common, "--epochs", "1", "--batch-size", "32", "--micro-batch", "8", "--optimizer",
        "adam", "--lr", "0.0001", "--schedule", "cosine", "--checkpoint-every", "50", "--log-every", "20", "--val-data", eval,
        "--out", qat.toString());
    Run qr = Run.of(q);
    assertEquals(0, qr.code(), qr.err());
    System.out.printf("qat (%.0f s): qspark %s%n", (System.nanoTime() - t1) / 1e9, String.join(" ", q));
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(qat.resolve("report.json")));
    Map<String, Object> ptq = (Map<String, Object>) report.get("ptq_outputs_against_float");
    Map<String, Object> trained = (Map<String, Object>) report.get("outputs_against_float");
    System.out.printf("training: %s s, %s images/s; loss per epoch %s%n", report.get("training_seconds"),
        report.get("training_images_per_second"), report.get("history"));
    System.out.println("| output | PTQ W6A6 (qat's calibration) | QAT W6A6 by distillation |");
    trained.forEach((o, f) -> System.out.printf("| %s | %s | %s |%n", o, ((Map<String, Object>) ptq.get(o)).get("sqnr_db"),
        ((Map<String, Object>) f).get("sqnr_db")));
    qr.out().lines().filter(l -> l.startsWith("sqnr ")).forEach(l -> System.out.println("  " + l));
  }

  /** The IDX reader wants a labels file beside the images; these models read none: zeros. */
  private static String withZeroLabels(Path images, int n) throws java.io.IOException {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + n).putInt(0x0801).putInt(n);
    Files.write(images.resolveSibling(images.getFileName().toString().replace("images-idx3", "labels-idx1")), b.array());
    return images.toString();
  }

  private static String[] concat(String[] a, String[] b, String... more) {
    java.util.List<String> r = new java.util.ArrayList<>(java.util.List.of(a));
    r.addAll(java.util.List.of(b));
    r.addAll(java.util.List.of(more));
    return r.toArray(new String[0]);
  }
}

package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Output folders the report and notebook tests read, made once per test JVM under
 * target/report-runs: calibrate at 8 bits (mse, 3 partitions) and at 6 bits (maxmin), deploy of
 * the first, and simulate of that with --out. 300 calibration images, 200 simulated.
 */
final class ReportRuns {
  final Path root, calib8, calib6, deploy, sim, qat;
  private static ReportRuns instance;

  private ReportRuns(Path root) {
    this.root = root;
    calib8 = root.resolve("int8-mse");
    calib6 = root.resolve("int6-maxmin");
    deploy = root.resolve("int8-mse-deploy");
    sim = root.resolve("int8-mse-simulate");
    qat = root.resolve("qat-w4a4");
  }

  static synchronized ReportRuns get() {
    if (instance == null) {
      ReportRuns r = new ReportRuns(Path.of("target", "report-runs").toAbsolutePath());
      delete(r.root);
      r.run();
      instance = r;
    }
    return instance;
  }

  private void run() {
    ok(calibrate(calib8, "--master", "local[2]", "--partitions", "3"));
    ok(calibrate(calib6, "--master", "local[2]", "--bits", "6", "--method", "maxmin"));
    ok(Run.of("deploy", "--calib", calib8.toString(), "--out", deploy.toString()));
    ok(Run.of("simulate", "--deploy", deploy.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--limit", "200", "--master", "local[2]", "--out", sim.toString()));
  }

  private boolean qatDone;

  /**
   * A small real QAT run, made on first use: 128 images, 2 steps in one epoch at W4A4, a history
   * row per step, validation after calibration and at the end. Returns the run's top-1 line value.
   */
  synchronized String qat() {
    if (!qatDone) {
      delete(qat);
      qatRun = Run.of("qat", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "128", "--mean", "72.94",
          "--std", "90.02", "--bits", "4", "--calib-size", "64", "--epochs", "1", "--batch-size", "64", "--micro-batch", "32",
          "--log-every", "1", "--val-data", Run.sampleImages(), "--master", "local[2]", "--out", qat.toString());
      ok(qatRun);
      qatDone = true;
    }
    return qatRun.out().lines().filter(l -> l.startsWith("top1: ")).findFirst().orElseThrow().substring(6);
  }

  private Run qatRun;

  static Run calibrate(Path out, String... extra) {
    java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("calibrate", "--model", Run.sampleModel(),
        "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02", "--calib-size", "300", "--out", out.toString()));
    args.addAll(java.util.List.of(extra));
    return Run.of(args.toArray(new String[0]));
  }

  private static void ok(Run r) {
    assertEquals(0, r.code(), r.out() + r.err());
  }

  static void delete(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

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
  final Path root, calib8, calib6, deploy, sim;
  private static ReportRuns instance;

  private ReportRuns(Path root) {
    this.root = root;
    calib8 = root.resolve("int8-mse");
    calib6 = root.resolve("int6-maxmin");
    deploy = root.resolve("int8-mse-deploy");
    sim = root.resolve("int8-mse-simulate");
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

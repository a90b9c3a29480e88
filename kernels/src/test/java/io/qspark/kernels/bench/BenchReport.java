package io.qspark.kernels.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Markdown for benchmark results, headed by what they were measured on and at which commit. */
public final class BenchReport {
  /** One engine on one model; the first of each model is the baseline the others divide by. */
  record Result(String model, String engine, Timing.Samples samples, int batch, long macsPerImage,
      double sgemmGflops) {
    double imagesPerSecond() {
      return batch / samples.median();
    }

    double gflops() {
      return 2.0 * macsPerImage * imagesPerSecond() / 1e9;
    }
  }

  private BenchReport() {}

  static String floatForward(List<Result> results, int[] sgemmSizes, double[] sgemmGflops, int referenceN,
      int threads, int runs, String loadBefore) {
    StringBuilder b = new StringBuilder();
    b.append("## Float forward, batch ").append(results.get(0).batch()).append(", ").append(threads).append(" threads\n\n");
    b.append(header()).append('\n');
    b.append("Load average (1/5/15 min) ").append(loadBefore).append(" before, ").append(loadAverage())
        .append(" after: other processes share these cores, so absolute figures vary more than ratios.\n");
    b.append("Median of ").append(runs).append(" timed runs per engine, engines alternating in blocks;")
        .append(" images/s range is slowest to fastest run.\n");
    b.append("GFLOP/s = 2 x MACs x images/s (Conv/Gemm MACs from Op.macs). The sgemm n=").append(referenceN)
        .append(" GEMM is timed in the same blocks as each model's engines; its GFLOP/s is the sgemm column.\n\n");
    b.append("| model | engine | images/s | range | vs ORT | GFLOP/s | sgemm GFLOP/s | vs sgemm |\n");
    b.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
    String model = null;
    double baseline = Double.NaN;
    for (Result r : results) {
      if (!r.model().equals(model)) {
        model = r.model();
        baseline = r.imagesPerSecond();
      }
      b.append(String.format("| %s (%.1f MMAC/image) | %s | %,.0f | %,.0f-%,.0f | %.2f | %.1f | %.1f | %.2f |%n",
          r.model(), r.macsPerImage() / 1e6, r.engine(), r.imagesPerSecond(),
          r.batch() / r.samples().max(), r.batch() / r.samples().min(),
          r.imagesPerSecond() / baseline, r.gflops(), r.sgemmGflops(), r.gflops() / r.sgemmGflops()));
    }
    b.append("\n### cblas_sgemm baseline (square n x n, ").append(threads)
        .append(" threads, preallocated off-heap, measured alone before the models)\n\n");
    b.append("| n | GFLOP/s |\n|---:|---:|\n");
    for (int i = 0; i < sgemmSizes.length; i++) {
      b.append(String.format("| %d | %.1f |%n", sgemmSizes[i], sgemmGflops[i]));
    }
    return b.toString();
  }

  public static String header() {
    return "Measured " + LocalDate.now() + " at commit " + commit() + " on " + cpuModel() + ", "
        + Runtime.getRuntime().availableProcessors() + " cores visible to the JVM, Java "
        + System.getProperty("java.version") + ".\n";
  }

  /** The first three fields of /proc/loadavg. */
  /** Prints a bench's report and writes it to target/bench/{@code file}, with the load average after the run. */
  static void finish(StringBuilder report, String loadBefore, String file) throws java.io.IOException {
    report.append("\nload average before: ").append(loadBefore).append(", after: ").append(loadAverage()).append('\n');
    System.out.println(report);
    java.nio.file.Path out = java.nio.file.Path.of("target", "bench", file);
    java.nio.file.Files.createDirectories(out.getParent());
    java.nio.file.Files.writeString(out, report.toString());
  }

  public static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | ArrayIndexOutOfBoundsException e) {
      return "unknown";
    }
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
      }
    } catch (IOException e) {
      // not Linux: say so below
    }
    return "unknown CPU";
  }

  /** HEAD's short hash, marked when the working tree differs from it. */
  private static String commit() {
    String head = git("rev-parse", "--short", "HEAD");
    if (head.isEmpty()) return "unknown";
    return git("status", "--porcelain", "--untracked-files=no").isEmpty() ? head : head + " + local changes";
  }

  private static String git(String... args) {
    try {
      String[] cmd = new String[args.length + 1];
      cmd[0] = "git";
      System.arraycopy(args, 0, cmd, 1, args.length);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}

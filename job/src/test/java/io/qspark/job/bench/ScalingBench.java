package io.qspark.job.bench;

import io.qspark.job.Run;
import io.qspark.job.StandaloneCluster;
import io.qspark.kernels.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * How calibration of resnet18 (224x224, synthetic images) scales: local[1] against local[2] in
 * this JVM, then a standalone cluster of 2 workers x 1 core (real master, worker and executor
 * JVMs, spark-submit) used with spark.cores.max=1 (one executor) against 2 (two), alternating
 * within each pair. The figure is the statistics pass's images/s as report.json gives it (the
 * driver's wall time for that Spark job: broadcast, tasks, treeAggregate; on the cluster the
 * first pass also loads the model in each new executor JVM), with the bytes its stages sent to
 * the driver. Same images and --partitions 4 everywhere, so only the slots differ.
 *
 * <p>mvn -o -q -Pbench test -pl job -Dtest=ScalingBench [-Dqspark.bench.images=48]
 * [-Dqspark.bench.rounds=2] [-Dqspark.bench.model=imagenet/resnet18.onnx]
 */
@Tag("bench")
class ScalingBench {
  private static final int IMAGES = Integer.getInteger("qspark.bench.images", 48);
  private static final int ROUNDS = Integer.getInteger("qspark.bench.rounds", 2);

  @Test
  void localAndStandaloneScaling() throws Exception {
    Path shared = Path.of(System.getProperty("user.dir")).resolve("../../shared/models").normalize();
    String model = shared.resolve(System.getProperty("qspark.bench.model", "imagenet/resnet18.onnx")).toString();
    Path dir = Files.createTempDirectory("qspark-scaling");
    String load = loadAverage();
    String[] calib = {"calibrate", "--model", model, "--data", "synthetic:" + IMAGES, "--mean", "123.7", "--std", "58.4",
        "--partitions", "4", "--overwrite"};
    Map<String, List<double[]>> results = new LinkedHashMap<>();
    for (int r = 0; r < ROUNDS; r++) {
      for (String master : List.of("local[1]", "local[2]")) {
        Path out = dir.resolve("local");
        Run run = Run.of(concat(calib, "--out", out.toString(), "--master", master));
        if (run.code() != 0) throw new AssertionError(run.err());
        results.computeIfAbsent(master, k -> new ArrayList<>()).add(figures(out));
      }
    }
    setClusterDefaults();
    try (StandaloneCluster cluster = StandaloneCluster.start(dir.resolve("cluster"), 2, 1)) {
      for (int r = 0; r < ROUNDS; r++) {
        for (int cores : new int[] {1, 2}) {
          Path out = dir.resolve("cluster-out");
          // Wait for every executor before the first stage: else the first registered one takes
          // tasks while the second JVM still starts, and the figure measures JVM start-up.
          Process p = cluster.submit("submit-" + r + "-" + cores, List.of("spark.cores.max=" + cores,
              "spark.scheduler.minRegisteredResourcesRatio=1.0", "spark.scheduler.maxRegisteredResourcesWaitingTime=120s"),
              concat(calib, "--out", out.toString()));
          if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new AssertionError("spark-submit failed; see " + cluster.log("submit-" + r + "-" + cores));
          }
          String key = "standalone, " + cores + " worker" + (cores > 1 ? "s" : "") + " x 1 core";
          results.computeIfAbsent(key, k -> new ArrayList<>()).add(figures(out));
        }
      }
    }
    StringBuilder b = new StringBuilder("## Calibration scaling, ").append(Path.of(model).getFileName()).append(", ")
        .append(IMAGES).append(" synthetic images, 4 partitions, medians of ").append(ROUNDS).append(" alternating runs\n\n")
        .append("| where | statistics pass images/s | speedup | error pass s | speedup | results to the driver, statistics stage |\n")
        .append("|---|---:|---:|---:|---:|---:|\n");
    double base = 0;
    double baseError = 0;
    for (Map.Entry<String, List<double[]>> e : results.entrySet()) {
      double rate = median(e.getValue(), 0);
      double error = median(e.getValue(), 1);
      if (e.getKey().equals("local[1]") || e.getKey().startsWith("standalone, 1 ")) {
        base = rate;
        baseError = error;
      }
      b.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.1f | %.2f | %,.0f B |%n", e.getKey(), rate, rate / base,
          error, baseError / error, median(e.getValue(), 2)));
    }
    b.append("\nload average before: ").append(load).append(", after: ").append(loadAverage()).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "scaling.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  /** Statistics images/s, error pass seconds, and the statistics stage's result bytes, from report.json. */
  @SuppressWarnings("unchecked")
  private static double[] figures(Path out) throws Exception {
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
    Map<String, Object> t = (Map<String, Object>) report.get("timings");
    long toDriver = 0;
    for (Object o : (List<Object>) report.get("spark_stages")) {
      Map<String, Object> s = (Map<String, Object>) o;
      if (String.valueOf(s.get("job")).contains("statistics")) toDriver += ((Number) s.get("result_bytes_to_driver")).longValue();
    }
    return new double[] {((Number) t.get("statistics_images_per_s")).doubleValue(),
        ((Number) t.get("error_pass_s")).doubleValue(), toDriver};
  }

  private static double median(List<double[]> runs, int i) {
    double[] v = runs.stream().mapToDouble(r -> r[i]).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** What the failsafe configuration gives StandaloneClusterIT, for a run under the bench profile (also QatStepPartsBench's). */
  static void setClusterDefaults() throws Exception {
    Path target = Path.of("target").toAbsolutePath();
    System.setProperty("qspark.app.jar", System.getProperty("qspark.app.jar", target.resolve("qspark-0.1.0.jar").toString()));
    System.setProperty("qspark.launcher.classpath",
        System.getProperty("qspark.launcher.classpath", target.resolve("launcher.classpath").toString()));
    if (System.getProperty("qspark.jvm.options") == null) {
      Matcher m = Pattern.compile("<spark.java17.opens>(.*)</spark.java17.opens>").matcher(Files.readString(Path.of("../pom.xml")));
      if (!m.find()) throw new IllegalStateException("no spark.java17.opens in ../pom.xml");
      System.setProperty("qspark.jvm.options", m.group(1));
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  private static String loadAverage() throws Exception {
    String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
    return f[0] + " " + f[1] + " " + f[2];
  }
}

package io.qspark.job;

import org.junit.jupiter.api.Timeout;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The shaded application jar, submitted with spark-submit to a real standalone master with two
 * workers on 127.0.0.1, computes what local[2] computes: byte-identical quant_info.json and
 * deploy model, identical simulation figures; and a calibration whose executor JVM is killed
 * in the middle ends, after Spark retries the lost tasks, with the same quant_info.json.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class StandaloneClusterIT {
  private static final java.util.regex.Pattern FIRST_TASK_DONE =
      java.util.regex.Pattern.compile("Finished task \\d+\\.\\d+ in stage 0\\.0 ");
  private static final String FASHION = "/usr/share/datasets/fashion-mnist/";
  private Path dir;
  private StandaloneCluster cluster;

  @BeforeAll
  void startCluster() throws Exception {
    dir = Files.createDirectories(Path.of("target", "it-cluster").toAbsolutePath());
    try (var s = Files.list(dir)) {
      for (Path p : s.toList()) deleteTree(p);
    }
    cluster = StandaloneCluster.start(dir, 2, 1);
  }

  @AfterAll
  void stopCluster() {
    if (cluster != null) cluster.close();
  }

  @Test
  void calibrateDeploySimulateMatchLocalMode() throws Exception {
    String[] calib = {"calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--calib-size", "1000", "--partitions", "4"};
    Path localCalib = dir.resolve("local-calib"), clusterCalib = dir.resolve("cluster-calib");
    Run local = Run.of(concat(calib, "--out", localCalib.toString(), "--master", "local[2]"));
    assertEquals(0, local.code(), local.err());
    submitOk("calibrate", concat(calib, "--out", clusterCalib.toString()));
    assertArrayEquals(Files.readAllBytes(localCalib.resolve("quant_info.json")),
        Files.readAllBytes(clusterCalib.resolve("quant_info.json")), "quant_info.json, cluster vs local[2]");
    assertArrayEquals(Files.readAllBytes(localCalib.resolve("quantize_eval_model.onnx")),
        Files.readAllBytes(clusterCalib.resolve("quantize_eval_model.onnx")));

    Path localDeploy = dir.resolve("local-deploy"), clusterDeploy = dir.resolve("cluster-deploy");
    assertEquals(0, Run.of("deploy", "--calib", localCalib.toString(), "--out", localDeploy.toString()).code());
    submitOk("deploy", "deploy", "--calib", clusterCalib.toString(), "--out", clusterDeploy.toString());
    assertArrayEquals(Files.readAllBytes(localDeploy.resolve("deploy_model.pb")),
        Files.readAllBytes(clusterDeploy.resolve("deploy_model.pb")));

    String[] sim = {"simulate", "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02", "--partitions", "4"};
    Run localSim = Run.of(concat(sim, "--deploy", localDeploy.toString(), "--master", "local[2]"));
    assertEquals(0, localSim.code(), localSim.err());
    List<String> clusterSim = submitOk("simulate", concat(sim, "--deploy", clusterDeploy.toString()));
    List<String> localLines = localSim.out().lines().toList();
    assertEquals(tail(localLines, 4), tail(clusterSim, 4), "agreement, compared, mismatches and top-1");
    assertEquals("mismatches: 0", clusterSim.get(clusterSim.size() - 2));
  }

  @Test
  void calibrationSurvivesAKilledExecutor() throws Exception {
    String[] calib = {"calibrate", "--model", Run.sampleModel(), "--data", FASHION + "train-images-idx3-ubyte.gz",
        "--mean", "72.94", "--std", "90.02", "--calib-size", "12000", "--partitions", "16", "--batch", "32"};
    Path reference = dir.resolve("kill-reference"), killed = dir.resolve("kill-run");
    Run local = Run.of(concat(calib, "--out", reference.toString(), "--master", "local[2]"));
    assertEquals(0, local.code(), local.err());

    Process p = cluster.submit("kill-run", concat(calib, "--out", killed.toString()));
    // once both executors compute statistics and the first of the pass's 16 tasks is done (most
    // of the pass still ahead), one executor is killed outright
    String log = killAnExecutorWhen(p, "kill-run", "the statistics pass started on two executors",
        l -> cluster.executors().size() >= 2 && FIRST_TASK_DONE.matcher(l).find());
    assertTrue(log.contains("Lost executor") || log.contains("Executor lost") || log.contains("ExecutorLostFailure")
        || log.contains("Removed executor"), "the driver saw the executor go: " + cluster.log("kill-run"));
    assertArrayEquals(Files.readAllBytes(reference.resolve("quant_info.json")),
        Files.readAllBytes(killed.resolve("quant_info.json")), "quant_info.json after the lost tasks were retried");
    try (var s = Files.list(dir)) {
      assertFalse(s.anyMatch(x -> x.getFileName().toString().startsWith(".qspark-tmp-")), "no temporary output left");
    }
  }

  /**
   * AdaRound's barrier job, whose tasks in two executor JVMs send their gradient parts to the
   * driver every step and step their own copies of the fit, gives the bits of local[2]'s one job
   * per step (3 partitions on 2 slots).
   */
  @Test
  void adaRoundBarrierJobAcrossExecutorsMatchesLocalPerStepJobs() throws Exception {
    String[] ft = {"finetune", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "200", "--bits", "4", "--bias-bits", "8", "--adaround-steps", "3"};
    Path localOut = dir.resolve("local-adaround"), clusterOut = dir.resolve("cluster-adaround");
    Run local = Run.of(concat(ft, "--out", localOut.toString(), "--master", "local[2]", "--partitions", "3"));
    assertEquals(0, local.code(), local.err());
    submitOk("adaround", List.of(BARRIER), concat(ft, "--out", clusterOut.toString(), "--partitions", "2"));
    String log = Files.readString(cluster.log("adaround"));
    // the DAGScheduler names each job by its call site: the barrier jobs' is RoundingExchange
    assertTrue(log.contains("at RoundingExchange.java"), "the layers ran as barrier jobs: " + cluster.log("adaround"));
    assertArrayEquals(Files.readAllBytes(localOut.resolve("quant_info.json")),
        Files.readAllBytes(clusterOut.resolve("quant_info.json")), "quant_info.json, cluster barrier jobs vs local jobs");
    assertArrayEquals(Files.readAllBytes(localOut.resolve("float_model.onnx")),
        Files.readAllBytes(clusterOut.resolve("float_model.onnx")), "float_model.onnx, cluster barrier jobs vs local jobs");
  }

  /**
   * An executor killed while AdaRound's barrier jobs run: Spark fails the stage, the surviving
   * task stops waiting for its peer's parts, the stage runs again from the layer's first step
   * (or, while only one executor is left, one job per step), and the folder is still local[2]'s.
   */
  @Test
  void adaRoundSurvivesAKilledExecutor() throws Exception {
    String[] ft = {"finetune", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "400", "--bits", "4", "--bias-bits", "8", "--adaround-steps", "20", "--partitions", "2"};
    Path reference = dir.resolve("adaround-kill-reference"), killed = dir.resolve("adaround-kill-run");
    Run local = Run.of(concat(ft, "--out", reference.toString(), "--master", "local[2]"));
    assertEquals(0, local.code(), local.err());

    Process p = cluster.submit("adaround-kill", List.of(BARRIER), concat(ft, "--out", killed.toString()));
    // killed once the third layer's barrier job has started: its tasks are exchanging parts
    killAnExecutorWhen(p, "adaround-kill", "AdaRound's third barrier job started",
        l -> count(l, "Starting job: collect at RoundingExchange.java") >= 3);
    assertArrayEquals(Files.readAllBytes(reference.resolve("quant_info.json")),
        Files.readAllBytes(killed.resolve("quant_info.json")), "quant_info.json after the killed executor");
    assertArrayEquals(Files.readAllBytes(reference.resolve("float_model.onnx")),
        Files.readAllBytes(killed.resolve("float_model.onnx")), "float_model.onnx after the killed executor");
  }

  /**
   * QAT with its gradients reduce-scattered through Spark's shuffle (each executor sums its
   * slices of every micro-batch's part; the driver receives one summed gradient), an executor
   * killed during the third step: Spark recomputes the lost map outputs and cached shards, and
   * the trained folder is the bits of local[2]'s run with every part summed on the driver.
   */
  @Test
  void qatReduceScatterSurvivesAKilledExecutor() throws Exception {
    String[] qat = {"qat", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "512", "--mean", "72.94",
        "--std", "90.02", "--bits", "4", "--calib-size", "128", "--epochs", "1", "--batch-size", "64", "--micro-batch", "16",
        "--lr", "0.005", "--partitions", "2"};
    Path reference = dir.resolve("qat-kill-reference"), killed = dir.resolve("qat-kill-run");
    Run local = Run.of(concat(qat, "--out", reference.toString(), "--master", "local[2]"));
    assertEquals(0, local.code(), local.err());

    Process p = cluster.submit("qat-kill", List.of("spark.qspark.qat.exchange=shuffle"), concat(qat, "--out", killed.toString()));
    // each step is one job (the summed slices collected): killed once the third has started
    String log = killAnExecutorWhen(p, "qat-kill", "QAT's third step started",
        l -> count(l, "Starting job: collect at QatJob.java") >= 3);
    // one shuffle map stage to deal the epoch's micro-batches, then one per step (8 steps) for the slices
    long shuffles = log.lines().filter(l -> l.contains("Submitting ShuffleMapStage") && l.contains("flatMapToPair at QatJob.java")).count();
    assertTrue(shuffles >= 1 + 8, shuffles + " shuffle map stages of QatJob: " + cluster.log("qat-kill"));
    for (String f : List.of("quant_info.json", "float_model.onnx")) {
      assertArrayEquals(Files.readAllBytes(reference.resolve(f)), Files.readAllBytes(killed.resolve(f)),
          f + ": cluster reduce-scatter with a killed executor vs local[2] through the driver");
    }
  }

  /**
   * Waits (at most 5 minutes) until the run's driver log satisfies {@code ready}, kills one
   * executor outright, and waits for the run to end with exit code 0; returns its log.
   */
  private String killAnExecutorWhen(Process p, String name, String what, java.util.function.Predicate<String> ready)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    boolean now = false;
    while (!now && System.nanoTime() < deadline && p.isAlive()) {
      Thread.sleep(100);
      now = ready.test(Files.readString(cluster.log(name)));
    }
    assertTrue(now, what + "; see " + cluster.log(name));
    assertTrue(p.isAlive(), "the job was still running when the executor was killed");
    ProcessHandle victim = cluster.executors().get(0);
    victim.destroyForcibly();
    victim.onExit().get(1, TimeUnit.MINUTES);
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "spark-submit finished");
    String log = Files.readString(cluster.log(name));
    assertEquals(0, p.exitValue(), log);
    return log;
  }

  private static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
    return n;
  }

  /** AdaRound's barrier jobs, which `auto` uses in local mode only. */
  private static final String BARRIER = "spark.qspark.adaround.exchange=barrier";

  private List<String> submitOk(String name, String... args) throws Exception {
    return submitOk(name, List.of(), args);
  }

  private List<String> submitOk(String name, List<String> sparkConf, String... args) throws Exception {
    Process p = cluster.submit(name, sparkConf, args);
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), name + " finished");
    assertEquals(0, p.exitValue(), name + ": " + Files.readString(cluster.log(name)));
    return Files.readAllLines(cluster.out(name));
  }

  private static List<String> tail(List<String> l, int n) {
    return l.subList(l.size() - n, l.size());
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  private static void deleteTree(Path p) throws java.io.IOException {
    if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (var s = Files.list(p)) {
        for (Path c : s.toList()) deleteTree(c);
      }
    }
    Files.delete(p);
  }
}

package io.qspark.job;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and workers started from the Spark
 * jars as their own JVMs, a SPARK_HOME whose jars/ holds Spark and its dependencies (not
 * qspark's: the application jar brings those, as on a real cluster), and spark-submit as its own
 * JVM. Logs go to files under the given folder.
 */
public final class StandaloneCluster implements AutoCloseable {
  /** qspark's own dependencies, which a Spark installation does not have. */
  private static final List<String> APP_ONLY = List.of("/org/bytedeco/", "/info/picocli/",
      "/io/qspark/", "/kernels/target/", "/dpu-sim/target/");

  private final Path dir;
  private final Path sparkHome;
  private final String jvmOptions;
  private final List<Process> daemons = new ArrayList<>();
  private final int port;

  private StandaloneCluster(Path dir, Path sparkHome, String jvmOptions, int port) {
    this.dir = dir;
    this.sparkHome = sparkHome;
    this.jvmOptions = jvmOptions;
    this.port = port;
  }

  public static StandaloneCluster start(Path dir, int workers, int coresPerWorker) throws Exception {
    Path home = dir.resolve("spark-home");
    Path jars = Files.createDirectories(home.resolve("jars"));
    String classpath = Files.readString(Path.of(System.getProperty("qspark.launcher.classpath"))).trim();
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      if (!entry.endsWith(".jar") || APP_ONLY.stream().anyMatch(entry::contains)) continue;
      Path jar = Path.of(entry);
      Path link = jars.resolve(jar.getFileName());
      if (!Files.exists(link)) Files.createSymbolicLink(link, jar);
    }
    Files.createDirectories(home.resolve("conf"));
    StandaloneCluster c = new StandaloneCluster(dir, home, System.getProperty("qspark.jvm.options"), freePort());
    try {
      c.daemons.add(c.java("master", "-Xmx512m", "org.apache.spark.deploy.master.Master",
          "--host", "127.0.0.1", "--port", String.valueOf(c.port), "--webui-port", String.valueOf(freePort())));
      c.awaitPort(c.port);
      for (int w = 0; w < workers; w++) {
        Path work = Files.createDirectories(dir.resolve("work-" + w));
        c.daemons.add(c.java("worker-" + w, "-Xmx512m", "org.apache.spark.deploy.worker.Worker",
            "--host", "127.0.0.1", "--cores", String.valueOf(coresPerWorker), "--memory", "3g",
            "--webui-port", String.valueOf(freePort()), "--work-dir", work.toString(), c.masterUrl()));
      }
      c.awaitWorkers(workers);
      return c;
    } catch (Exception e) {
      c.close();
      throw e;
    }
  }

  public String masterUrl() {
    return "spark://127.0.0.1:" + port;
  }

  /** `spark-submit` of the qspark application jar with these application arguments; returns its process. */
  public Process submit(String logName, String... appArgs) throws IOException {
    return submit(logName, List.of(), appArgs);
  }

  /** The same with more Spark settings (key=value, e.g. spark.cores.max=1 to use one worker's core). */
  public Process submit(String logName, List<String> sparkConf, String... appArgs) throws IOException {
    List<String> args = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit",
        "--master", masterUrl(), "--deploy-mode", "client", "--class", "io.qspark.job.Main",
        "--conf", "spark.executor.extraJavaOptions=" + jvmOptions,
        "--conf", "spark.driver.extraJavaOptions=" + jvmOptions,
        "--conf", "spark.executor.memory=1500m", "--conf", "spark.ui.enabled=false"));
    for (String c : sparkConf) args.addAll(List.of("--conf", c));
    args.add(System.getProperty("qspark.app.jar"));
    args.addAll(List.of(appArgs));
    String[] a = new String[args.size() + 1];
    a[0] = "-Xmx2g";
    for (int i = 0; i < args.size(); i++) a[i + 1] = args.get(i);
    return java(logName, a);
  }

  public Path log(String name) {
    return dir.resolve(name + ".log");
  }

  public Path out(String name) {
    return dir.resolve(name + ".out");
  }

  /** The executor JVMs the workers have started and that still run. */
  public List<ProcessHandle> executors() {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(l -> l.contains("CoarseGrainedExecutorBackend")
            && l.contains(sparkHome.toString())).orElse(false))
        .toList();
  }

  private Process java(String name, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of(jvmOptions.trim().split("\\s+")));
    cmd.add("-cp");
    cmd.add(sparkHome.resolve("jars") + "/*");
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.remove("SPARK_CONF_DIR");
    pb.redirectError(log(name).toFile());
    pb.redirectOutput(out(name).toFile());
    return pb.start();
  }

  private void awaitPort(int p) throws Exception {
    for (int i = 0; i < 600; i++) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", p), 200);
        return;
      } catch (IOException e) {
        checkAlive();
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("master did not open port " + p + "; see " + log("master"));
  }

  private void awaitWorkers(int n) throws Exception {
    for (int i = 0; i < 1200; i++) {
      long registered = Files.readAllLines(log("master")).stream().filter(l -> l.contains("Registering worker")).count();
      if (registered >= n) return;
      checkAlive();
      Thread.sleep(100);
    }
    throw new IllegalStateException(n + " workers did not register; see " + dir);
  }

  private void checkAlive() {
    Optional<Process> dead = daemons.stream().filter(p -> !p.isAlive()).findFirst();
    if (dead.isPresent()) throw new IllegalStateException("a cluster daemon exited; see logs in " + dir);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (ProcessHandle e : executors()) e.destroyForcibly();
    for (Process p : daemons) p.destroyForcibly();
    for (Process p : daemons) {
      try {
        p.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}

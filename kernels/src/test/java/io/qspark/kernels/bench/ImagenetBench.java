package io.qspark.kernels.bench;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.PeakActivations;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.Histogram;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.ImagenetInputs;
import io.qspark.kernels.testing.OrtRunner;
import io.qspark.kernels.testing.RealWorld;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The 224x224 models as a calibration task runs them: two tasks of {@code qspark.bench.batch}
 * images (default 8) on their own threads, each single-threaded (OpenBLAS on 1 thread), as two
 * Spark task slots would; the float forward of the inference graph, the statistics pass
 * (forward + a histogram of every activation point) and ONNX Runtime (2 intra-op threads) on
 * the same images, with cblas_sgemm n=2048 on 2 threads as the machine's GEMM ceiling, all
 * timed in alternating blocks. The targets for resnet18: statistics at least 0.7 x float
 * forward, and effective GFLOP/s (2 x MACs x images/s) within 2x of sgemm's.
 *
 * <p>mvn -o -q -Pbench test -pl kernels -Dtest=ImagenetBench [-Dqspark.bench.models=resnet18]
 *
 * <p>{@link #tinyYoloCalibration} times the same two engines on a detector: a statistics pass of
 * tiny_yolo over {@code qspark.bench.yoloImages} synthetic images (default 2,000), as calibrate
 * runs it on two task slots, against the float forward of the same images; each block of images
 * goes through both engines back to back, wall time and the tasks' CPU time (the CPU-time ratio
 * is the one other processes on a shared machine move least).
 * {@code -Dtest=ImagenetBench#tinyYoloCalibration} runs it alone.
 */
@Tag("bench")
class ImagenetBench {
  private static final int THREADS = 2;
  private static final int PER_TASK = Integer.getInteger("qspark.bench.batch", 8);
  private static final int SGEMM_N = 2048;

  @Test
  void imagenetModels() throws Exception {
    String[] models = System.getProperty("qspark.bench.models", "resnet18,mobilenet_v2,googlenet").split(",");
    String loadBefore = BenchReport.loadAverage();
    int blasBefore = Blas.threads();
    StringBuilder b = new StringBuilder("## ImageNet-size models, ").append(THREADS).append(" tasks x ")
        .append(PER_TASK).append(" images, ").append(Timing.timedRuns()).append(" timed runs per engine, medians\n\n")
        .append(BenchReport.header())
        .append("| model | GMAC/image | activations/image | ORT images/s | float forward images/s | statistics images/s"
            + " | statistics / float | sgemm n=2048 GFLOP/s | statistics GFLOP/s | sgemm / statistics | histogram bytes"
            + " (median, max) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try (SgemmBaseline sgemm = new SgemmBaseline(SGEMM_N)) {
      Tensor x = ImagenetInputs.testImages(THREADS * PER_TASK);
      List<Tensor> shares = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) shares.add(x.slice0(t * PER_TASK, (t + 1) * PER_TASK));
      for (String name : models) {
        Path file = Shared.model("imagenet/" + name.trim() + ".onnx");
        Model m = Model.load(file).forInference();
        String in = m.graph().inputs().get(0).name();
        Executor ex = new Executor(m.graph());
        long macs = ModelCost.macsPerImage(m, ex);
        QuantPlan plan = QuantPlan.of(m.graph(), QuantConfig.defaults());
        List<ActivationStats> buffers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) buffers.add(new ActivationStats());
        try (OrtRunner ort = new OrtRunner(file, THREADS)) {
          Timing.Action runOrt = () -> ort.run(x);
          Timing.Action floatPass = () -> parallel(pool, shares, (i, s) -> ex.run(Map.of(in, s), TensorObserver.NONE, false));
          Timing.Action statsPass = () -> parallel(pool, shares,
              (i, s) -> ex.run(Map.of(in, s), buffers.get(i).observer(plan), false));
          Timing.Action runSgemm = () -> {
            Blas.setThreads(THREADS);
            sgemm.action().run();
            Blas.setThreads(1);
          };
          Blas.setThreads(1);
          List<Timing.Samples> r = Timing.interleaved(List.of(runOrt, floatPass, statsPass, runSgemm));
          int n = THREADS * PER_TASK;
          double ortRate = n / r.get(0).median(), f = n / r.get(1).median(), s = n / r.get(2).median();
          double gemm = sgemm.gflops(r.get(3));
          double statsGflops = 2.0 * macs * s / 1e9;
          List<Integer> sizes = new ArrayList<>();
          for (Histogram h : buffers.get(0).histograms().values()) sizes.add(h.toByteArray().length);
          sizes.sort(null);
          b.append(String.format(Locale.ROOT, "| %s | %.2f | %.1f MB | %.1f | %.1f | %.1f | **%.2f** | %.0f | %.1f | **%.2f** | %,d B, %,d B (%d tensors) |%n",
              name, macs / 1e9, PeakActivations.bytesPerImage(m.graph(), m.shapes()) / 1e6, ortRate, f, s, s / f, gemm,
              statsGflops, gemm / statsGflops, sizes.get(sizes.size() / 2), sizes.get(sizes.size() - 1), sizes.size()));
        }
      }
    } finally {
      pool.shutdown();
      Blas.setThreads(blasBefore);
    }
    BenchReport.finish(b, loadBefore, "imagenet.md");
  }

  @Test
  void tinyYoloCalibration() throws Exception {
    int images = Integer.getInteger("qspark.bench.yoloImages", 2000);
    int rounds = Integer.getInteger("qspark.bench.yoloRounds", 2);
    int block = Integer.getInteger("qspark.bench.yoloBlock", 10); // batches per task between engine switches
    Model m = Model.load(RealWorld.model("tiny_yolo.onnx")).forInference();
    String in = m.graph().inputs().get(0).name();
    int[] s = m.graph().inputs().get(0).shape();
    Executor ex = new Executor(m.graph());
    long macs = ModelCost.macsPerImage(m, ex);
    QuantPlan plan = QuantPlan.of(m.graph(), QuantConfig.defaults());
    // synthetic:N as calibrate makes it: pixels uniform in 0..255, normalised as the shared models expect
    List<List<Tensor>> tasks = new ArrayList<>();
    java.util.Random r = new java.util.Random(17);
    int per = s[1] * s[2] * s[3];
    for (int t = 0; t < THREADS; t++) {
      List<Tensor> batches = new ArrayList<>();
      for (int done = t * images / THREADS; done < (t + 1) * images / THREADS; done += PER_TASK) {
        int n = Math.min(PER_TASK, (t + 1) * images / THREADS - done);
        float[] x = new float[n * per];
        for (int i = 0; i < x.length; i++) x[i] = (r.nextInt(256) - Shared.MEAN) / Shared.STD;
        batches.add(Tensor.of(x, n, s[1], s[2], s[3]));
      }
      tasks.add(batches);
    }
    List<ActivationStats> buffers = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) buffers.add(new ActivationStats());
    java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
    java.util.concurrent.atomic.AtomicLong histogramNs = new java.util.concurrent.atomic.AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    int blasBefore = Blas.threads();
    String loadBefore = BenchReport.loadAverage();
    int batches = tasks.get(0).size();
    // [engine][0: wall ns, 1: CPU ns of both tasks]
    long[][] total = new long[2][2];
    double[][] roundRatio = new double[2][rounds];
    try {
      Blas.setThreads(1);
      List<Tensor> none = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) none.add(null);
      java.util.concurrent.atomic.AtomicLong cpuNs = new java.util.concurrent.atomic.AtomicLong();
      java.util.function.BiFunction<Integer, Integer, Work> engine = (e, from) -> (i, u) -> {
        long c0 = cpu.getCurrentThreadCpuTime();
        for (int k = from; k < Math.min(from + block, tasks.get(i).size()); k++) {
          ex.run(Map.of(in, tasks.get(i).get(k)), e == 0 ? TensorObserver.NONE : buffers.get(i).observer(plan), false);
        }
        cpuNs.addAndGet(cpu.getCurrentThreadCpuTime() - c0);
        return null;
      };
      // warm-up: the JIT compiles the hot loops
      for (int e = 0; e < 2; e++) parallel(pool, none, engine.apply(e, 0));
      // the histogram updates' own share of the statistics pass, on one block, untimed
      ActivationStats probe = new ActivationStats();
      TensorObserver stats = probe.observer(plan);
      TensorObserver timed = (node, name, value) -> {
        long c0 = cpu.getCurrentThreadCpuTime();
        Tensor v = stats.onValue(node, name, value);
        histogramNs.addAndGet(cpu.getCurrentThreadCpuTime() - c0);
        return v;
      };
      long p0 = cpu.getCurrentThreadCpuTime();
      for (int k = 0; k < Math.min(block, batches); k++) ex.run(Map.of(in, tasks.get(0).get(k)), timed, false);
      double histogramShare = histogramNs.get() / (double) (cpu.getCurrentThreadCpuTime() - p0);
      // every block of images runs through both engines back to back, the first of the two alternating,
      // so load from other processes falls on both alike
      for (int k = 0; k < rounds; k++) {
        long[][] round = new long[2][2];
        for (int from = 0, j = 0; from < batches; from += block, j++) {
          for (int o = 0; o < 2; o++) {
            int e = (j + k + o) % 2;
            cpuNs.set(0);
            long t0 = System.nanoTime();
            parallel(pool, none, engine.apply(e, from));
            round[e][0] += System.nanoTime() - t0;
            round[e][1] += cpuNs.get();
          }
        }
        for (int e = 0; e < 2; e++) for (int q = 0; q < 2; q++) total[e][q] += round[e][q];
        roundRatio[0][k] = (double) round[0][0] / round[1][0];
        roundRatio[1][k] = (double) round[0][1] / round[1][1];
      }
      double n = (double) images * rounds;
      double f = n / (total[0][0] / 1e9), st = n / (total[1][0] / 1e9);
      StringBuilder b = new StringBuilder("## tiny_yolo calibration, ").append(images).append(" synthetic images, ")
          .append(THREADS).append(" tasks, batches of ").append(PER_TASK).append(", ").append(rounds)
          .append(" passes per engine, engines alternating every ").append(block * PER_TASK * THREADS).append(" images\n\n")
          .append(BenchReport.header()).append('\n')
          .append("| model | GMAC/image | float forward images/s | statistics images/s | statistics / float (wall) | per pass"
              + " | statistics / float (CPU time) | per pass | histogram updates' share of the statistics pass (CPU) |\n")
          .append("|---|---:|---:|---:|---:|---|---:|---|---:|\n")
          .append(String.format(Locale.ROOT, "| tiny_yolo | %.3f | %.1f | %.1f | **%.2f** | %s | **%.2f** | %s | %.0f%% |%n",
              macs / 1e9, f, st, st / f, ratios(roundRatio[0]), (double) total[0][1] / total[1][1], ratios(roundRatio[1]),
              100 * histogramShare))
          .append("\nload average before: ").append(loadBefore).append(", after: ").append(BenchReport.loadAverage()).append('\n');
      System.out.println(b);
      Path out = Path.of("target", "bench", "tiny-yolo-calibration.md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, b.toString());
    } finally {
      pool.shutdown();
      Blas.setThreads(blasBefore);
    }
  }

  private static String ratios(double[] v) {
    StringBuilder b = new StringBuilder();
    for (double x : v) b.append(b.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", x));
    return b.toString();
  }

  private interface Work {
    Object run(int index, Tensor share) throws Exception;
  }

  private static void parallel(ExecutorService pool, List<Tensor> shares, Work w) throws Exception {
    List<Future<Object>> f = new ArrayList<>();
    for (int i = 0; i < shares.size(); i++) {
      int idx = i;
      f.add(pool.submit(() -> w.run(idx, shares.get(idx))));
    }
    for (Future<Object> x : f) x.get();
  }
}

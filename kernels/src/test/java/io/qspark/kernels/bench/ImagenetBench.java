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
 * runs it on two task slots, against the float forward of the same images.
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
    b.append("\nload average before: ").append(loadBefore).append(", after: ").append(BenchReport.loadAverage()).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "imagenet.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  @Test
  void tinyYoloCalibration() throws Exception {
    int images = Integer.getInteger("qspark.bench.yoloImages", 2000);
    int rounds = Integer.getInteger("qspark.bench.yoloRounds", 3);
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
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    int blasBefore = Blas.threads();
    String loadBefore = BenchReport.loadAverage();
    double[][] sec = new double[2][rounds];
    try {
      Blas.setThreads(1);
      Work floatPass = (i, unused) -> {
        for (Tensor b : tasks.get(i)) ex.run(Map.of(in, b), TensorObserver.NONE, false);
        return null;
      };
      Work statsPass = (i, unused) -> {
        for (Tensor b : tasks.get(i)) ex.run(Map.of(in, b), buffers.get(i).observer(plan), false);
        return null;
      };
      List<Tensor> none = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) none.add(null);
      // warm-up (the JIT compiles the hot loops) on a few batches per task, then whole passes alternating
      for (int w = 0; w < 4; w++) {
        int k = w;
        parallel(pool, none, (i, u) -> ex.run(Map.of(in, tasks.get(i).get(k)), TensorObserver.NONE, false));
        parallel(pool, none, (i, u) -> ex.run(Map.of(in, tasks.get(i).get(k)), new ActivationStats().observer(plan), false));
      }
      for (int k = 0; k < rounds; k++) {
        for (int e = 0; e < 2; e++) {
          int first = (k + e) % 2; // alternate which engine goes first in a round
          long t0 = System.nanoTime();
          parallel(pool, none, first == 0 ? floatPass : statsPass);
          sec[first][k] = (System.nanoTime() - t0) / 1e9;
        }
      }
    } finally {
      pool.shutdown();
      Blas.setThreads(blasBefore);
    }
    double f = images / new Timing.Samples(sec[0]).median(), st = images / new Timing.Samples(sec[1]).median();
    StringBuilder b = new StringBuilder("## tiny_yolo calibration, ").append(images).append(" synthetic images, ")
        .append(THREADS).append(" tasks, batches of ").append(PER_TASK).append(", ").append(rounds)
        .append(" whole passes per engine alternating, medians\n\n").append(BenchReport.header()).append('\n')
        .append("| model | GMAC/image | float forward images/s | statistics images/s | statistics / float | runs (s, float; statistics) |\n")
        .append("|---|---:|---:|---:|---:|---|\n")
        .append(String.format(Locale.ROOT, "| tiny_yolo | %.3f | %.1f | %.1f | **%.2f** | %s; %s |%n", macs / 1e9, f, st, st / f,
            java.util.Arrays.toString(sec[0]), java.util.Arrays.toString(sec[1])))
        .append("\nload average before: ").append(loadBefore).append(", after: ").append(BenchReport.loadAverage()).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "tiny-yolo-calibration.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
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

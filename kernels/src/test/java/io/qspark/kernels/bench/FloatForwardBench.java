package io.qspark.kernels.bench;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.OrtRunner;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Float forward throughput of qspark against ONNX Runtime, both on 2 threads in this JVM, and
 * against raw cblas_sgemm as the machine's ceiling. Prints a Markdown table and writes it to
 * target/bench/float-forward.md. Measures only: there is no speed to pass or fail.
 */
@Tag("bench")
class FloatForwardBench {
  private static final int BATCH = 64;
  private static final int THREADS = 2;
  private static final String[] MODELS = {"resnet_s.onnx", "mbv2_s.onnx"};
  private static final int[] SGEMM_SIZES = {64, 256, 2048};
  /**
   * The sgemm size forward passes are compared with: large enough to run near peak. Timed
   * again with each model, interleaved with it.
   */
  private static final int REFERENCE_N = 2048;

  @Test
  void floatForward() throws Exception {
    int blasThreadsBefore = Blas.threads();
    String loadBefore = BenchReport.loadAverage();
    try {
      Blas.setThreads(THREADS);
      double[] sgemm = new double[SGEMM_SIZES.length];
      for (int i = 0; i < sgemm.length; i++) sgemm[i] = SgemmBaseline.gflops(SGEMM_SIZES[i]);
      List<BenchReport.Result> results = new ArrayList<>();
      for (String file : MODELS) results.addAll(measure(file));
      String report = BenchReport.floatForward(results, SGEMM_SIZES, sgemm, REFERENCE_N, THREADS,
          Timing.timedRuns(), loadBefore);
      System.out.println(report);
      Path out = Path.of("target", "bench", "float-forward.md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, report);
    } finally {
      Blas.setThreads(blasThreadsBefore);
    }
  }

  /** ORT first: it is the baseline the report divides by. */
  private static List<BenchReport.Result> measure(String file) throws Exception {
    Path path = Shared.model(file);
    String name = file.replace(".onnx", "");
    Model model = Model.load(path);
    Executor ex = new Executor(model.graph());
    long macs = ModelCost.macsPerImage(model, ex);
    Tensor x = Shared.testImages(BATCH);
    List<Tensor> shares = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) shares.add(x.slice0(t * BATCH / THREADS, (t + 1) * BATCH / THREADS));
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try (OrtRunner ort = new OrtRunner(path, THREADS); SgemmBaseline sgemm = new SgemmBaseline(REFERENCE_N)) {
      Timing.Action runOrt = () -> ort.run(x);
      Timing.Action runBatch = () -> {
        Blas.setThreads(THREADS);
        ex.run(x);
      };
      // how Spark runs it: one task per core, each single-threaded on its share of the data
      Timing.Action runTasks = () -> {
        Blas.setThreads(1);
        List<Future<Tensor>> done = new ArrayList<>();
        for (Tensor share : shares) done.add(pool.submit(() -> ex.run(share)));
        for (Future<Tensor> f : done) f.get();
      };
      // the GEMM ceiling timed alongside, so "vs sgemm" compares runs under the same load
      Timing.Action runSgemm = () -> {
        Blas.setThreads(THREADS);
        sgemm.action().run();
      };
      List<Timing.Samples> s = Timing.interleaved(List.of(runOrt, runBatch, runTasks, runSgemm));
      double sgemmGflops = sgemm.gflops(s.get(3));
      return List.of(
          new BenchReport.Result(name, "ONNX Runtime, " + THREADS + " intra-op threads", s.get(0), BATCH, macs,
              sgemmGflops),
          new BenchReport.Result(name, "qspark, one batch of " + BATCH + ", OpenBLAS " + THREADS + " threads",
              s.get(1), BATCH, macs, sgemmGflops),
          new BenchReport.Result(name, "qspark, " + THREADS + " tasks x " + BATCH / THREADS
              + ", OpenBLAS 1 thread each", s.get(2), BATCH, macs, sgemmGflops));
    } finally {
      pool.shutdown();
      Blas.setThreads(THREADS);
    }
  }
}

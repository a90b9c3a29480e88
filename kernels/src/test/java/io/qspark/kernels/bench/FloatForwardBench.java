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
    Model inference = model.forInference();
    // the batch is split over THREADS threads, each single-threaded as a Spark task is
    Executor asExported = new Executor(model.graph(), THREADS);
    Executor ex = new Executor(inference.graph(), THREADS);
    long macs = ModelCost.macsPerImage(model, new Executor(model.graph()));
    Tensor x = Shared.testImages(BATCH);
    try (OrtRunner ort = new OrtRunner(path, THREADS); SgemmBaseline sgemm = new SgemmBaseline(REFERENCE_N)) {
      Timing.Action runOrt = () -> ort.run(x);
      Timing.Action runBatch = () -> {
        Blas.setThreads(1);
        ex.run(x);
      };
      Timing.Action runTasks = () -> {
        Blas.setThreads(1);
        asExported.run(x);
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
          new BenchReport.Result(name, "qspark, " + THREADS + " threads, BatchNorm folded + activations fused"
              + (io.qspark.kernels.ops.Conv.SIMD ? ", SIMD conv" : ", im2col+BLAS conv"),
              s.get(1), BATCH, macs, sgemmGflops),
          new BenchReport.Result(name, "qspark, " + THREADS + " threads, graph as exported", s.get(2), BATCH, macs,
              sgemmGflops));
    } finally {
      Blas.setThreads(THREADS);
    }
  }
}

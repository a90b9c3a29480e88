package io.qspark.kernels.train;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * QAT training throughput against the float forward pass, in the same JVM on 2 threads, rounds
 * alternating: float inference (Executor, 2 threads, batches of 128) and QAT steps (global batch
 * 128 in 2 micro-batches of 64 on 2 threads, BatchNorm on batch statistics, then after the freeze),
 * both over the same 1,024 training images; medians of 5 rounds and their ratio. PyTorch's own
 * QAT on 2 threads at batch 128 (../shared/models/README.md): resnet_s 1,039 images/s, mbv2_s 431.
 * {@code -Dqspark.bench.qat.models=resnet_s,mbv2_s} selects models.
 */
@Tag("bench")
class QatBench {
  private static final Map<String, Double> PYTORCH = Map.of("resnet_s", 1039.0, "mbv2_s", 431.0);
  /**
   * Our float forward pass on a quiet machine (BENCHMARKS.md, "Float forward", quiet-run medians):
   * the shared machine is rarely quiet, so QAT is compared with PyTorch as ratio-to-float times this.
   */
  private static final Map<String, Double> QUIET_FLOAT = Map.of("resnet_s", 2001.0, "mbv2_s", 2411.0);
  private static final int N = 1024, BATCH = 128;

  @Test
  void throughput() throws Exception {
    StringBuilder table = new StringBuilder();
    for (String model : System.getProperty("qspark.bench.qat.models", "resnet_s,mbv2_s").split(",")) {
      AdaQuantTest.Setup s = AdaQuantTest.calibrate(model + ".onnx", 4);
      Graph floatGraph = Model.load(Shared.model(model + ".onnx")).graph();
      QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
      Tensor x = Shared.images("train-images-idx3-ubyte.gz", N);
      int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", N);
      EpochOrder order = new EpochOrder(N, BATCH, BATCH / 2, 1);
      Executor ex = new Executor(s.graph(), 2);
      String in = s.graph().inputs().get(0).name();
      List<Double> fwd = new ArrayList<>(), bn = new ArrayList<>(), frozen = new ArrayList<>(), rb = new ArrayList<>(), rz = new ArrayList<>();
      try (QatLocal local = new QatLocal(worker, x, labels, order, 2)) {
        for (int round = 0; round < 6; round++) {
          long t0 = System.nanoTime();
          for (int i = 0; i < N; i += BATCH) ex.run(Map.of(in, x.slice0(i, i + BATCH)));
          double f = N / ((System.nanoTime() - t0) / 1e9);
          QatTrainer a = QatTrainer.start(worker, QatTest.settings(1 << 30, 1 << 30), "bench");
          t0 = System.nanoTime();
          local.train(a, N / BATCH);
          double b = N / ((System.nanoTime() - t0) / 1e9);
          QatTrainer c = QatTrainer.start(worker, QatTest.settings(0, 1 << 30), "bench");
          t0 = System.nanoTime();
          local.train(c, N / BATCH);
          double d = N / ((System.nanoTime() - t0) / 1e9);
          if (round == 0) continue; // warm-up
          fwd.add(f);
          bn.add(b);
          frozen.add(d);
          rb.add(b / f);
          rz.add(d / f);
          System.out.printf(Locale.ROOT, "%s round %d: float %.0f, QAT (BN batch stats) %.0f, QAT (BN folded) %.0f images/s%n", model, round, f, b, d);
        }
      }
      double mf = median(fwd), mb = median(bn), mz = median(frozen), qb = median(rb), qz = median(rz);
      double quiet = QUIET_FLOAT.get(model), pt = PYTORCH.get(model);
      // an epoch with the default freeze (80% of the steps on batch statistics): time-weighted
      double epoch = 1 / (0.8 / mb + 0.2 / mz);
      table.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %.0f | %.2f / %.2f / %.2f | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.0f / %.0f |%n",
          model, mf, mb, mz, epoch, mb / pt, mz / pt, epoch / pt, qb, Collections.min(rb), Collections.max(rb), qz, Collections.min(rz),
          Collections.max(rz), qb * quiet, qz * quiet));
    }
    System.out.println("| model | float forward | QAT, BN batch statistics | QAT, BN folded | epoch (80% / 20%) "
        + "| vs PyTorch QAT: BN / folded / epoch | QAT/float (per-round median, range) | folded/float "
        + "| QAT images/s at the quiet float rate, BN / folded |");
    System.out.print(table);
  }

  static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}

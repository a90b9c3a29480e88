package io.qspark.kernels.train;

import io.qspark.kernels.bench.BenchLoad;
import io.qspark.kernels.bench.BenchReport;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * QAT training throughput against the float forward pass, in the same JVM on 2 threads, rounds
 * alternating: float inference (Executor, 2 threads, batches of 128) and QAT steps (global batch
 * 128 in 2 micro-batches of 64 on 2 threads, W4A4, BatchNorm on batch statistics, then after the
 * freeze), both over the same 1,024 training images; medians of {@code qspark.bench.rounds}
 * (default 5) rounds after a warm-up round, and their ratio.
 *
 * <p>The PyTorch column is measured, not quoted: after qspark's rounds of every model (so the two
 * never share the cores), the bench runs the shared peer script ({@link TorchQatPeer}: PyTorch FX
 * QAT, W4A4 with weights and activations fake-quantized, BatchNorm on batch statistics, batch 128,
 * 2 threads) and divides by its faster repetition. On a machine without the peer
 * ({@code /usr/bin/python3} with python3-torch) or with {@code -Dqspark.bench.qat.peer=false} the
 * column says so and no ratio is printed. {@code -Dqspark.bench.qat.models=resnet_s,mbv2_s}
 * selects models (the peer times both).
 */
@Tag("bench")
class QatBench {
  private static final int N = 1024, BATCH = 128, BITS = 4;
  private static final int ROUNDS = Integer.getInteger("qspark.bench.rounds", 5);
  /** The peer's steps per repetition (its default, 40 x 128 images). */
  private static final int PEER_STEPS = Integer.getInteger("qspark.bench.qat.peerSteps", 40);

  private record Row(String model, double fwd, double bn, double folded, double epoch, double qb, double qbMin,
      double qbMax, double qz, double qzMin, double qzMax) {}

  @Test
  @Timeout(7200)
  void throughput() throws Exception {
    String loadBefore = BenchLoad.now();
    List<Row> rows = new ArrayList<>();
    for (String model : System.getProperty("qspark.bench.qat.models", "resnet_s,mbv2_s").split(",")) {
      AdaQuantTest.Setup s = AdaQuantTest.calibrate(model + ".onnx", BITS);
      Graph floatGraph = Model.load(Shared.model(model + ".onnx")).graph();
      QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
      Tensor x = Shared.images("train-images-idx3-ubyte.gz", N);
      int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", N);
      EpochOrder order = new EpochOrder(N, BATCH, BATCH / 2, 1);
      Executor ex = new Executor(s.graph(), 2);
      String in = s.graph().inputs().get(0).name();
      List<Double> fwd = new ArrayList<>(), bn = new ArrayList<>(), frozen = new ArrayList<>(), rb = new ArrayList<>(), rz = new ArrayList<>();
      try (QatLocal local = new QatLocal(worker, x, labels, order, 2)) {
        for (int round = 0; round <= ROUNDS; round++) {
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
      double mb = median(bn), mz = median(frozen);
      // an epoch with the default freeze (80% of the steps on batch statistics): time-weighted
      double epoch = 1 / (0.8 / mb + 0.2 / mz);
      rows.add(new Row(model, median(fwd), mb, mz, epoch, median(rb), Collections.min(rb), Collections.max(rb),
          median(rz), Collections.min(rz), Collections.max(rz)));
    }
    String loadQspark = BenchLoad.now();
    TorchQatPeer.Result peer = Boolean.parseBoolean(System.getProperty("qspark.bench.qat.peer", "true"))
        ? TorchQatPeer.run(BITS, PEER_STEPS, Path.of("target", "bench", "torch-qat-peer.log"))
        : null;
    StringBuilder b = new StringBuilder("# QAT throughput, W" + BITS + "A" + BITS + ", global batch " + BATCH + ", 2 threads\n\n")
        .append(BenchReport.header())
        .append("qspark: medians of ").append(ROUNDS).append(" rounds, load average ").append(loadBefore).append(" before, ")
        .append(loadQspark).append(" after.\n");
    if (peer == null) {
      b.append("PyTorch: not run (-Dqspark.bench.qat.peer=false); its command: ").append(TorchQatPeer.PYTHON).append(' ')
          .append(TorchQatPeer.script()).append(' ').append(BITS).append(' ').append(PEER_STEPS).append(".\n");
    } else if (!peer.ran()) {
      b.append("PyTorch: not measured (").append(peer.failure()).append("); its command: ").append(peer.command()).append(".\n");
    } else {
      b.append("PyTorch: `").append(peer.command()).append("` run after qspark's rounds (load average ").append(peer.loadBefore())
          .append(" before, ").append(peer.loadAfter()).append(" after), each model's repetitions ").append(peer.imagesPerSecond())
          .append(" images/s; the faster one is the column. Its BatchNorm uses batch statistics throughout, like qspark's \"BN\" column.\n");
    }
    b.append("\n| model | float forward | QAT, BN batch statistics | QAT, BN folded | epoch (80% / 20%) | PyTorch QAT (peer) "
        + "| vs PyTorch: BN / folded / epoch | QAT/float (per-round median, range) | folded/float |\n"
        + "|---|---:|---:|---:|---:|---:|---|---|---|\n");
    for (Row r : rows) {
      double pt = peer != null && peer.ran() ? peer.best(r.model()) : Double.NaN;
      String vs = Double.isNaN(pt) ? "not measured"
          : String.format(Locale.ROOT, "**%.2f** / %.2f / %.2f", r.bn() / pt, r.folded() / pt, r.epoch() / pt);
      b.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) |%n",
          r.model(), r.fwd(), r.bn(), r.folded(), r.epoch(), Double.isNaN(pt) ? "-" : String.format(Locale.ROOT, "%.0f", pt), vs,
          r.qb(), r.qbMin(), r.qbMax(), r.qz(), r.qzMin(), r.qzMax()));
    }
    System.out.println(b);
    Path out = Path.of("target", "bench", "qat.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}

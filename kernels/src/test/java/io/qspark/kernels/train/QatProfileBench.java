package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where a QAT step's time goes: wall time of each node's forward (with its fake-quant) and
 * backward (with its straight-through mask) kernel, summed per op type (convs also per kind:
 * depthwise, pointwise, kxk, strided) over both threads, as thread-milliseconds per image;
 * QatBench's setup (global batch 128 in 2 micro-batches of 64 on 2 threads, W4A4), 3 timed
 * rounds of 1,024 images after a warm-up round, BatchNorm on batch statistics and then folded.
 * {@code -Dqspark.bench.qat.models=resnet_s,mbv2_s} selects models.
 */
@Tag("bench")
class QatProfileBench {
  private static final int N = 1024, BATCH = 128, ROUNDS = 3;

  @Test
  void profile() throws Exception {
    for (String model : System.getProperty("qspark.bench.qat.models", "resnet_s,mbv2_s").split(",")) {
      AdaQuantTest.Setup s = AdaQuantTest.calibrate(model + ".onnx", 4);
      Graph floatGraph = Model.load(Shared.model(model + ".onnx")).graph();
      QatWorker worker = new QatWorker(floatGraph, s.plan(), s.params());
      Tensor x = Shared.images("train-images-idx3-ubyte.gz", N);
      int[] labels = Shared.labels("train-labels-idx1-ubyte.gz", N);
      EpochOrder order = new EpochOrder(N, BATCH, BATCH / 2, 1);
      for (int freezeAt : new int[] {1 << 30, 0}) {
        Map<String, LongAdder> times = new ConcurrentHashMap<>();
        double wall = 0;
        try (QatLocal local = new QatLocal(worker, x, labels, order, 2)) {
          for (int round = 0; round <= ROUNDS; round++) {
            worker.timer(round == 0 ? null : (n, backward, ns) -> times.computeIfAbsent(label(n, backward), k -> new LongAdder()).add(ns));
            QatTrainer t = QatTrainer.start(worker, QatTest.settings(freezeAt, 1 << 30), "bench");
            long t0 = System.nanoTime();
            local.train(t, N / BATCH);
            if (round > 0) wall += (System.nanoTime() - t0) / 1e9;
          }
        }
        worker.timer(null);
        double images = (double) N * ROUNDS;
        long total = times.values().stream().mapToLong(LongAdder::sum).sum();
        System.out.printf(Locale.ROOT, "%n%s, BatchNorm %s: %.0f images/s, %.2f thread-ms per image in the nodes%n", model,
            freezeAt == 0 ? "folded" : "on batch statistics", images / wall, total / 1e6 / images);
        System.out.println("| node | thread-ms per image | share |");
        System.out.println("|---|---:|---:|");
        times.entrySet().stream().sorted((p, q) -> Long.compare(q.getValue().sum(), p.getValue().sum())).forEach(e -> {
          long v = e.getValue().sum();
          if (v * 200 >= total) System.out.printf(Locale.ROOT, "| %s | %.3f | %.1f%% |%n", e.getKey(), v / 1e6 / images, 100.0 * v / total);
        });
      }
    }
  }

  private static String label(Node n, boolean backward) {
    String op = n.opType();
    if (op.equals("Conv")) {
      long group = n.attributes().getInt("group", 1);
      long[] k = n.attributes().getInts("kernel_shape", new long[] {0, 0});
      long[] st = n.attributes().getInts("strides", new long[] {1, 1});
      op = (group > 1 ? "Conv depthwise/grouped" : k[0] == 1 && k[1] == 1 ? "Conv 1x1" : "Conv kxk") + (st[0] > 1 ? " strided" : "");
    }
    return op + (backward ? " backward" : " forward");
  }
}

package io.qspark.kernels.bench;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The forward arena (issue 20 item 2): heap bytes one forward allocates on its thread after
 * warm-up, arena on and off, for the inference forward (as evaluate runs it) and the statistics
 * pass (ActivationStats' observer), on one thread as a Spark task runs it; then forward
 * images/s arena on and off, alternating in blocks in this JVM, on 2 threads (as
 * FloatForwardBench). Allocation is independent of load; the timings are not.
 * -Dqspark.bench.arena.resnet18=false skips resnet18.
 */
@Tag("bench")
class ArenaBench {
  private static final int MEASURED = Integer.getInteger("qspark.bench.arena.forwards", 5);
  /** Forwards before counting, each setting (and -Dqspark.bench.warmup seconds at least): JIT, class loading and the kernels' per-thread scratch settle. */
  private static final int WARMUP = Integer.getInteger("qspark.bench.arena.warmupForwards", 10);
  private static final int THREADS = 2;

  private record Case(String file, int batch) {}

  @Test
  void arena() throws Exception {
    String loadBefore = BenchReport.loadAverage();
    List<Case> cases = new ArrayList<>(List.of(new Case("resnet_s.onnx", 32), new Case("resnet_s.onnx", 64),
        new Case("mbv2_s.onnx", 32), new Case("mbv2_s.onnx", 64)));
    if (!"false".equals(System.getProperty("qspark.bench.arena.resnet18"))) cases.add(new Case("imagenet/resnet18.onnx", 4));
    StringBuilder r = new StringBuilder(BenchReport.header()).append('\n');
    r.append("Heap bytes allocated by the forward's thread per forward after warm-up (mean of ").append(MEASURED)
        .append(" forwards after ").append(WARMUP).append(" and ").append(Timing.WARMUP_SECONDS).append(" s at least uncounted), one thread (a Spark task):\n\n");
    r.append("| model | batch | pass | arena off: bytes/forward | bytes/image | arena on: bytes/forward | bytes/image |\n");
    r.append("|---|---:|---|---:|---:|---:|---:|\n");
    int blasBefore = Blas.threads();
    Blas.setThreads(1);
    try {
      for (Case c : cases) {
        Graph g = Model.load(Shared.model(c.file)).forInference().graph();
        Map<String, Tensor> feeds = feeds(g, c.batch);
        Executor ex = new Executor(g);
        QuantPlan plan = QuantPlan.of(g, QuantConfig.defaults());
        for (boolean stats : new boolean[] {false, true}) {
          long off = bytesPerForward(ex, feeds, plan, stats, false);
          long on = bytesPerForward(ex, feeds, plan, stats, true);
          r.append(String.format("| %s | %d | %s | %,d | %,d | %,d | %,d |%n", c.file.replace(".onnx", ""), c.batch,
              stats ? "statistics (ActivationStats)" : "forward", off, off / c.batch, on, on / c.batch));
        }
        System.out.print(r);
      }
      r.append("\nArena pooled on this thread at the end: ").append(Arena.current().pooledBytes() >> 20)
          .append(" MiB (cap ").append(Arena.CAPACITY_BYTES >> 20).append(" MiB).\n\n");
      r.append("Forward images/s, ").append(THREADS).append(" threads (batch split), arena off and on alternating in ")
          .append(Timing.ROUNDS).append(" rounds of ").append(Timing.RUNS_PER_ROUND).append(" runs; medians (range):\n\n");
      r.append("| model | batch | arena off | arena on | on / off |\n|---|---:|---:|---:|---:|\n");
      for (Case c : cases.subList(0, 4)) {
        if (c.batch != 64) continue;
        Graph g = Model.load(Shared.model(c.file)).forInference().graph();
        Map<String, Tensor> feeds = feeds(g, c.batch);
        Executor ex = new Executor(g, THREADS);
        Timing.Action off = () -> {
          Executor.useArena(false);
          ex.run(feeds);
        };
        Timing.Action on = () -> {
          Executor.useArena(true);
          ex.run(feeds);
        };
        List<Timing.Samples> s = Timing.interleaved(List.of(off, on));
        double ipsOff = c.batch / s.get(0).median(), ipsOn = c.batch / s.get(1).median();
        r.append(String.format("| %s | %d | %,.0f (%,.0f-%,.0f) | %,.0f (%,.0f-%,.0f) | %.2f |%n",
            c.file.replace(".onnx", ""), c.batch, ipsOff, c.batch / s.get(0).max(), c.batch / s.get(0).min(),
            ipsOn, c.batch / s.get(1).max(), c.batch / s.get(1).min(), ipsOn / ipsOff));
        System.out.print(r);
      }
    } finally {
      Executor.useArena(true);
      Blas.setThreads(blasBefore);
    }
    BenchReport.finish(r, loadBefore, "arena.md");
  }

  private static long bytesPerForward(Executor ex, Map<String, Tensor> feeds, QuantPlan plan, boolean stats,
      boolean arena) {
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    boolean was = Executor.useArena(arena);
    try {
      ActivationStats st = new ActivationStats();
      TensorObserver obs = stats ? st.observer(plan) : TensorObserver.NONE;
      // until C2 has compiled the SIMD kernels, the Vector API allocates its vectors on the heap
      long start = System.nanoTime();
      for (int i = 0; i < WARMUP || System.nanoTime() - start < Timing.WARMUP_SECONDS * 1e9; i++) ex.run(feeds, obs, false);
      long before = mx.getThreadAllocatedBytes(id);
      for (int i = 0; i < MEASURED; i++) ex.run(feeds, obs, false);
      return (mx.getThreadAllocatedBytes(id) - before) / MEASURED;
    } finally {
      Executor.useArena(was);
    }
  }

  /** Deterministic inputs of the graph's input shape at this batch (allocation does not depend on values). */
  private static Map<String, Tensor> feeds(Graph g, int batch) throws Exception {
    var in = g.inputs().get(0);
    int[] shape = in.shape().clone();
    shape[0] = batch;
    if (shape.length == 4 && shape[1] == 1 && shape[2] == 28) return Map.of(in.name(), Shared.testImages(batch));
    for (int d = 1; d < shape.length; d++) if (shape[d] < 0) shape[d] = 224;
    float[] x = new float[Math.toIntExact(Tensor.size(shape))];
    for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i * 0.001) * 2f;
    return Map.of(in.name(), Tensor.of(x, shape));
  }
}

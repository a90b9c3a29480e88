package io.qspark.kernels.bench;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where a float forward pass spends its time, per node and per op kind, on the inference graph
 * at batch 64 split over 2 threads (as FloatForwardBench times it). A TensorObserver stamps
 * each value as it is produced with its thread's CPU time; the CPU time since the previous stamp
 * on the same thread is the producing node's (so executor bookkeeping between nodes is charged to
 * the next node). CPU time rather than wall time, so that other processes on a shared machine
 * do not land in whichever op was running when they were scheduled. Times are summed over both
 * halves of the batch, as shares of the total. Not run by
 * FloatForwardBench; select it with {@code -Pbench -Dtest=OpProfileBench}.
 */
@Tag("bench")
class OpProfileBench {
  private static final int BATCH = 64;
  private static final int THREADS = 2;
  private static final int RUNS = Integer.getInteger("qspark.bench.profileRuns", 40);

  @Test
  void profile() throws Exception {
    Blas.setThreads(1);
    StringBuilder report = new StringBuilder("# Per-op profile, batch " + BATCH + ", " + THREADS
        + " threads, " + RUNS + " runs after warm-up\n\n");
    for (String file : new String[] {"resnet_s.onnx", "mbv2_s.onnx"}) report.append(profile(file));
    System.out.println(report);
    Path out = Path.of("target", "bench", "op-profile.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report.toString());
  }

  private static String profile(String file) throws Exception {
    Model model = Model.load(Shared.model(file)).forInference();
    Executor ex = new Executor(model.graph(), THREADS);
    Tensor x = Shared.testImages(BATCH);
    Map<Node, LongAdder> perNode = new ConcurrentHashMap<>();
    ThreadLocal<long[]> last = ThreadLocal.withInitial(() -> new long[1]);
    java.lang.management.ThreadMXBean tm = java.lang.management.ManagementFactory.getThreadMXBean();
    TensorObserver stamp = (producer, name, value) -> {
      long now = tm.getCurrentThreadCpuTime();
      long[] l = last.get();
      if (producer != null) perNode.computeIfAbsent(producer, k -> new LongAdder()).add(now - l[0]);
      l[0] = now;
      return value;
    };
    Map<String, Tensor> feed = Map.of(model.graph().inputs().get(0).name(), x);
    long warm = System.nanoTime();
    while (System.nanoTime() - warm < 5e9) ex.run(feed, stamp);
    perNode.clear();
    long t0 = System.nanoTime();
    for (int i = 0; i < RUNS; i++) ex.run(feed, stamp);
    double wall = (System.nanoTime() - t0) / 1e9 / RUNS;
    long total = 0;
    for (LongAdder a : perNode.values()) total += a.sum();
    Map<String, Long> perKind = new LinkedHashMap<>();
    List<Node> nodes = model.graph().nodes();
    StringBuilder rows = new StringBuilder();
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      long ns = perNode.getOrDefault(n, new LongAdder()).sum();
      String kind = kind(ex, i, n);
      perKind.merge(kind, ns, Long::sum);
      int[] in = model.shape(n.inputs().get(0));
      rows.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.1f%% | %.3f |%n", n.name(), n.opType(),
          ex.op(i).describe(), Tensor.shapeString(in), 100.0 * ns / total, ns / 1e6 / RUNS));
    }
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "## %s: %.1f ms per batch wall, %.0f images/s; %.1f CPU ms per batch%n%n",
        file, wall * 1e3, BATCH / wall, total / 1e6 / RUNS));
    b.append("| op kind | share | CPU ms per batch |\n|---|---:|---:|\n");
    List<Map.Entry<String, Long>> kinds = new ArrayList<>(perKind.entrySet());
    kinds.sort((p, q) -> Long.compare(q.getValue(), p.getValue()));
    for (Map.Entry<String, Long> e : kinds) {
      b.append(String.format(Locale.ROOT, "| %s | %.1f%% | %.2f |%n", e.getKey(), 100.0 * e.getValue() / total,
          e.getValue() / 1e6 / RUNS));
    }
    b.append("\n| node | op | attributes | input | share | CPU ms |\n|---|---|---|---|---:|---:|\n").append(rows)
        .append('\n');
    return b.toString();
  }


  private static String kind(Executor ex, int i, Node n) {
    if (!n.opType().equals("Conv")) return n.opType();
    String d = ex.op(i).describe();
    boolean depthwise = d.contains(" g=");
    boolean pointwise = d.startsWith("k=1x1");
    return "Conv " + (depthwise ? "grouped/depthwise" : pointwise ? "1x1" : "kxk");
  }
}

package io.qspark.kernels.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.train.ConvGrad;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * qspark's conv kernels against nd4j-native 1.0.0-M2.1's oneDNN build (classifier
 * {@code linux-x86_64-onednn-avx512}: libnd4j with oneDNN for conv2d, conv2d_bp and their
 * depthwise forms), per conv layer of resnet_s, mbv2_s, resnet18 and mobilenet_v2, in one JVM,
 * on one thread each (a Spark task slot's share; OpenMP held at 1 thread for oneDNN), engines
 * alternating in rounds.
 *
 * <ul>
 *   <li>Forward: every Conv of the inference graph (BatchNorm folded, ReLU/Clip fused), qspark's
 *       {@code Conv.forward} (the SIMD kernels of DirectConv; it allocates its output as the
 *       executor does today) against nd4j's op built once on preallocated arrays: the conv alone
 *       on its resident off-heap arrays ("oneDNN"), and with the on-heap input copied in, the
 *       output copied out and the fused activation applied to it by qspark's loop ("oneDNN +
 *       copies", what dispatching a layer from qspark's executor would cost).</li>
 *   <li>Backward: every Conv of the graph as exported (no fused activation: what QAT trains
 *       before the BatchNorm freeze), qspark's {@link ConvGrad} (dX, dW, dB) against
 *       {@code conv2d_bp}/{@code depthwise_conv2d_bp}, likewise with and without the copies
 *       (input, weights and dY in; dX, dW, dB out).</li>
 * </ul>
 *
 * Layers of the same shape are timed once and counted. Per layer, the median over the rounds of
 * the wall time per call (blocks of calls of at least {@code qspark.bench.onednn.block} seconds);
 * per model, the sums over its layers and their ratio. The calling thread's CPU time is measured
 * alongside, and the CPU time of the process's other threads during oneDNN's blocks, which shows
 * whether oneDNN kept to one thread. {@link #determinism} checks, for both engines, whether a
 * given image gives the same bits whatever its batch and the thread count.
 *
 * <p>{@code mvn -o -q -Pbench test -pl kernels -Dtest=OneDnnConvBench} (with
 * {@code -Dqspark.bench.models=...}, {@code -Dqspark.bench.rounds=...}); writes
 * target/bench/onednn-conv.md and target/bench/onednn-determinism.md.
 */
@Tag("bench")
class OneDnnConvBench {
  private static final int ROUNDS = Integer.getInteger("qspark.bench.rounds", 5);
  private static final double BLOCK = Double.parseDouble(System.getProperty("qspark.bench.onednn.block", "0.05"));
  private static final String MODELS = System.getProperty("qspark.bench.models", "resnet_s,mbv2_s,resnet18,mobilenet_v2");
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** A conv layer at a given batch: the operands both engines read. */
  record Layer(String model, String node, int count, Attributes attrs, int[] x, int[] w, float[] wData,
      float[] bias, int[] y) {
    int group() {
      return (int) attrs.getInt("group", 1);
    }

    ConvGeometry geometry() {
      return new ConvGeometry(attrs, w[2], w[3], "Conv");
    }

    Activation activation() {
      return Activation.fused(attrs);
    }

    double macs() {
      return (double) Tensor.size(y) * w[1] * w[2] * w[3];
    }

    String describe() {
      ConvGeometry g = geometry();
      String kind = group() > 1 ? "dw " : "";
      Activation a = activation();
      return String.format(Locale.ROOT, "%s%dx%d/%d %d->%d%s", kind, g.kh, g.kw, g.sh, x[1], w[0],
          a == null ? "" : " " + a.opType());
    }

    String input() {
      return x[0] + "x" + x[1] + "x" + x[2] + "x" + x[3];
    }
  }

  /** Per model's images: the 28x28 models at a QAT micro-batch's size, the 224x224 at a calibration task's. */
  private static int batch(String model, boolean backward) {
    Integer b = Integer.getInteger("qspark.bench.onednn.batch");
    if (b != null) return b;
    return imagenet(model) ? 8 : backward ? 64 : 32;
  }

  private static boolean imagenet(String model) {
    return !Files.exists(Shared.model(model + ".onnx"));
  }

  private static Path file(String model) {
    return imagenet(model) ? Shared.model("imagenet/" + model + ".onnx") : Shared.model(model + ".onnx");
  }

  /** The distinct conv layers of a graph (inference graph: forward; as exported: backward), with how often each occurs. */
  static List<Layer> layers(String model, boolean backward, int batch) {
    Model m = Model.load(file(model));
    if (!backward) m = m.forInference();
    Map<String, Layer> byKey = new LinkedHashMap<>();
    Map<String, Integer> count = new LinkedHashMap<>();
    for (Node n : m.graph().nodes()) {
      if (!n.opType().equals("Conv")) continue;
      Tensor w = m.graph().initializers().get(n.input(1));
      if (w == null) continue;
      Tensor b = n.inputs().size() > 2 ? m.graph().initializers().get(n.input(2)) : null;
      int[] x = m.shape(n.input(0)).clone();
      int[] y = m.shape(n.outputs().get(0)).clone();
      x[0] = batch;
      y[0] = batch;
      Attributes a = n.attributes();
      ConvGeometry g = new ConvGeometry(a, w.dim(2), w.dim(3), "Conv");
      Activation act = Activation.fused(a);
      String key = Arrays.toString(x) + Arrays.toString(w.shape()) + Arrays.toString(g.pads(x[2], x[3])) + g.sh + g.sw
          + g.dh + g.dw + a.getInt("group", 1) + (b != null) + (act == null ? "" : act.describe());
      count.merge(key, 1, Integer::sum);
      byKey.putIfAbsent(key, new Layer(model, n.name(), 0, a, x, w.shape(), w.data(), b == null ? null : b.data(), y));
    }
    List<Layer> r = new ArrayList<>();
    for (Map.Entry<String, Layer> e : byKey.entrySet()) {
      Layer l = e.getValue();
      r.add(new Layer(l.model, l.node, count.get(e.getKey()), l.attrs, l.x, l.w, l.wData, l.bias, l.y));
    }
    return r;
  }

  /** Median seconds per call over the rounds: wall, this thread's CPU, and other threads' CPU. */
  record Times(double wall, double cpu, double others) {}

  private static final class Samples {
    final List<double[]> rounds = new ArrayList<>();

    void add(double[] s) {
      rounds.add(s);
    }

    Times medians() {
      return new Times(median(0), median(1), median(2));
    }

    private double median(int k) {
      double[] v = rounds.stream().mapToDouble(s -> s[k]).sorted().toArray();
      int n = v.length;
      return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
  }

  /** Calls until this thread has spent {@link #BLOCK} seconds of CPU (at least one call): per call {wall, cpu, other threads' cpu}. */
  private static double[] block(Runnable r) {
    r.run(); // settle: the engine timed before may have left caches and pools in another state
    int calls = 0;
    long w0 = System.nanoTime(), c0 = CPU.getCurrentThreadCpuTime(), p0 = OS.getProcessCpuTime(), c;
    do {
      r.run();
      calls++;
      c = CPU.getCurrentThreadCpuTime();
    } while (c - c0 < BLOCK * 1e9);
    long w1 = System.nanoTime(), p1 = OS.getProcessCpuTime();
    return new double[] {(w1 - w0) / 1e9 / calls, (c - c0) / 1e9 / calls, Math.max(0, (p1 - p0) - (c - c0)) / 1e9 / calls};
  }

  /** Each action's medians over ROUNDS rounds, the actions taking turns (in reversed order every other round). */
  private static Times[] alternate(List<Runnable> actions) {
    for (Runnable a : actions) {
      for (int i = 0; i < 3; i++) a.run();
    }
    Samples[] s = new Samples[actions.size()];
    for (int i = 0; i < s.length; i++) s[i] = new Samples();
    for (int round = 0; round < ROUNDS; round++) {
      for (int j = 0; j < actions.size(); j++) {
        int i = round % 2 == 0 ? j : actions.size() - 1 - j;
        s[i].add(block(actions.get(i)));
      }
    }
    Times[] t = new Times[s.length];
    for (int i = 0; i < s.length; i++) t[i] = s[i].medians();
    return t;
  }

  private static Tensor random(Random r, int... shape) {
    Tensor t = Tensor.zeros(shape);
    float[] d = t.data();
    for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
    return t;
  }

  private static Tensor[] operands(Layer l, Tensor x) {
    Tensor w = Tensor.of(l.wData, l.w);
    return l.bias == null ? new Tensor[] {x, w} : new Tensor[] {x, w, Tensor.of(l.bias, l.w[0])};
  }

  /** Forward: {qspark, oneDNN resident, oneDNN + copies}. */
  private static Times[] timeForward(Layer l) {
    Random r = new Random(1);
    Tensor x = random(r, l.x);
    Tensor[] args = operands(l, x);
    Conv conv = new Conv(l.attrs);
    float[] out = new float[(int) Tensor.size(l.y)];
    float[] sink = new float[1];
    try (OneDnnConv nd = new OneDnnConv(l.x, l.wData, l.w, l.bias, l.geometry(), l.group(), l.activation(), l.y)) {
      nd.input().put(0, x.data());
      return alternate(List.of(
          () -> sink[0] += conv.forward(args)[0].data()[0],
          nd::forward,
          () -> nd.forwardFrom(x.data(), out)));
    }
  }

  /** Backward (dX, dW, dB): {qspark, oneDNN resident, oneDNN + copies}. */
  private static Times[] timeBackward(Layer l) {
    Random r = new Random(2);
    Tensor x = random(r, l.x), dy = random(r, l.y);
    Tensor[] args = operands(l, x);
    Tensor y = Tensor.zeros(l.y);
    ConvGrad grad = new ConvGrad(l.attrs);
    float[] dx = new float[x.size()], dw = new float[l.wData.length], db = l.bias == null ? null : new float[l.w[0]];
    float[] sink = new float[1];
    try (OneDnnConv nd = new OneDnnConv(l.x, l.wData, l.w, l.bias, l.geometry(), l.group(), null, l.y)) {
      nd.backwardFrom(x.data(), l.wData, dy.data(), dx, dw, db);
      return alternate(List.of(
          () -> sink[0] += grad.backward(args, y, dy)[1].data()[0],
          nd::backward,
          () -> nd.backwardFrom(x.data(), l.wData, dy.data(), dx, dw, db)));
    }
  }

  @Test
  @Timeout(7200)
  void perLayer() throws Exception {
    OneDnnConv.threads(1);
    String loadBefore = BenchReport.loadAverage();
    StringBuilder rows = new StringBuilder(), totals = new StringBuilder();
    double maxOthers = 0;
    for (String model : MODELS.split(",")) {
      model = model.trim();
      List<Layer> fwd = layers(model, false, batch(model, false));
      List<Layer> bwd = layers(model, true, batch(model, true));
      // forward and backward layers pair up by node where both graphs have the conv
      Map<String, Times[]> f = new LinkedHashMap<>(), b = new LinkedHashMap<>();
      timeForward(fwd.get(0)); // JIT warm-up of the SIMD kernels on the first layer
      for (Layer l : fwd) {
        if (!OneDnnConv.supported(l.x, l.w, l.geometry(), l.group())) continue;
        f.put(l.node, timeForward(l));
      }
      for (Layer l : bwd) {
        if (!OneDnnConv.supported(l.x, l.w, l.geometry(), l.group())) continue;
        b.put(l.node, timeBackward(l));
      }
      double[] sf = new double[6], sb = new double[6];
      double flops = 0;
      for (Layer l : fwd) {
        Times[] t = f.get(l.node);
        if (t == null) {
          rows.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | not expressible in nd4j's conv ops | | | | | | | | |%n",
              model, shortName(l.node), l.count, l.describe(), l.input()));
          continue;
        }
        for (int i = 0; i < 3; i++) {
          sf[i] += l.count * t[i].wall();
          sf[3 + i] += l.count * t[i].cpu();
        }
        flops += l.count * 2 * l.macs();
        maxOthers = Math.max(maxOthers, Math.max(t[1].others() / t[1].cpu(), t[2].others() / t[2].cpu()));
        Layer lb = bwd.stream().filter(x -> x.node.equals(l.node)).findFirst().orElse(null);
        Times[] tb = lb == null ? null : b.get(lb.node);
        rows.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %.3f | %.3f | %.3f | **%.2f** | %s | %s |%n",
            model, shortName(l.node), l.count, l.describe(), l.input(), t[0].wall() * 1e3, t[1].wall() * 1e3,
            t[2].wall() * 1e3, t[0].wall() / t[2].wall(), tb == null ? "| | | | " : String.format(Locale.ROOT,
                "%s | %.3f | %.3f | %.3f | **%.2f**", lb.input(), tb[0].wall() * 1e3, tb[1].wall() * 1e3, tb[2].wall() * 1e3,
                tb[0].wall() / tb[2].wall()), others(t, tb)));
      }
      for (Layer l : bwd) {
        Times[] t = b.get(l.node);
        if (t == null) continue;
        for (int i = 0; i < 3; i++) {
          sb[i] += l.count * t[i].wall();
          sb[3 + i] += l.count * t[i].cpu();
        }
        maxOthers = Math.max(maxOthers, Math.max(t[1].others() / t[1].cpu(), t[2].others() / t[2].cpu()));
        if (fwd.stream().noneMatch(x -> x.node.equals(l.node))) {
          rows.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | | | | | | %s | %.3f | %.3f | %.3f | **%.2f** | %s |%n",
              model, shortName(l.node), l.count, l.describe(), l.input(), t[0].wall() * 1e3, t[1].wall() * 1e3,
              t[2].wall() * 1e3, t[0].wall() / t[2].wall(), others(null, t)));
        }
      }
      totals.append(String.format(Locale.ROOT,
          "| %s | %d / %d | %.2f | %.2f | %.2f | **%.2f** (%.2f) | %.2f | %.2f | %.2f | **%.2f** (%.2f) | %.1f |%n",
          model, batch(model, false), batch(model, true), sf[0] * 1e3, sf[1] * 1e3, sf[2] * 1e3, sf[0] / sf[2], sf[3] / sf[5],
          sb[0] * 1e3, sb[1] * 1e3, sb[2] * 1e3, sb[0] / sb[2], sb[3] / sb[5], flops / sf[0] / 1e9));
      System.out.println(model + " done, load " + BenchReport.loadAverage());
    }
    String report = "# qspark's conv kernels vs nd4j-native's oneDNN build, per layer, 1 thread each\n\n"
        + BenchReport.header() + OneDnnConv.describe() + ".\n"
        + "Load average (1/5/15 min) " + loadBefore + " before, " + BenchReport.loadAverage() + " after.\n"
        + "Medians of " + ROUNDS + " alternating rounds, wall ms per call (blocks of >= " + BLOCK + " s of CPU).\n"
        + "Speed-up = qspark's time / oneDNN-with-copies' time: above 1 oneDNN is faster. In brackets the same from\n"
        + "the calling thread's CPU time. Other threads' CPU during oneDNN's blocks, at most "
        + String.format(Locale.ROOT, "%.0f%%", 100 * maxOthers) + " of the calling thread's.\n\n"
        + "## Per model (sums over all conv layers, ms per batch)\n\n"
        + "| model | batch fwd / bwd | fwd qspark | fwd oneDNN | fwd oneDNN + copies | fwd speed-up | bwd qspark | bwd oneDNN "
        + "| bwd oneDNN + copies | bwd speed-up | qspark fwd GFLOP/s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        + totals + "\n## Per layer (ms per call)\n\n"
        + "| model | layer | × | conv | fwd input | fwd qspark | fwd oneDNN | fwd oneDNN + copies | fwd speed-up "
        + "| bwd input | bwd qspark | bwd oneDNN | bwd oneDNN + copies | bwd speed-up | other threads' CPU in oneDNN's blocks, fwd / bwd |\n"
        + "|---|---|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n" + rows;
    write("onednn-conv.md", report);
  }

  /** Prints a report and writes it to target/bench. */
  private static void write(String file, String report) throws java.io.IOException {
    System.out.println(report);
    Path out = Path.of("target", "bench", file);
    Files.createDirectories(out.getParent());
    Files.writeString(out, report);
  }

  /** Other threads' CPU time during oneDNN's blocks as a share of the calling thread's, forward / backward (the larger of resident and copies). */
  private static String others(Times[] f, Times[] b) {
    return share(f) + " / " + share(b);
  }

  private static String share(Times[] t) {
    if (t == null) return "-";
    return String.format(Locale.ROOT, "%.0f%%", 100 * Math.max(t[1].others() / t[1].cpu(), t[2].others() / t[2].cpu()));
  }

  private static String shortName(String node) {
    String s = node.replaceAll("^/", "").replaceAll("/Conv(_output_0)?$", "");
    return s.length() > 28 ? s.substring(s.length() - 28) : s;
  }

  // ---------------------------------------------------------------------------------------------
  // Determinism: a given image's result must not depend on its batch or on the thread count

  /** How many layers kept each property, per model and engine. */
  private static final class Tally {
    int layers, fwdBatch, fwdThreads, dxBatch, bwdThreads, repeat, isa = -1;
    double fwdDiff, dxDiff, dwDiff;

    String row(String model, String engine, boolean threads) {
      return String.format(Locale.ROOT, "| %s | %s | %d | %d | %s | %s | %d | %s | %d | %s |%n", model, engine, layers, fwdBatch,
          threads ? String.valueOf(fwdThreads) : "n/a (1 thread per call)",
          threads ? (isa < 0 ? "not run" : String.valueOf(isa)) : "not run (Java semantics: the same on any CPU)", dxBatch,
          threads ? String.valueOf(bwdThreads) : "n/a (1 thread per call)", repeat,
          threads ? String.format(Locale.ROOT, "%.1e / %.1e / %.1e", fwdDiff, dxDiff, dwDiff) : "reference");
    }
  }

  /**
   * Per distinct layer, B random images: the forward output of each image at batch B, at batch 1
   * and at batch B - 1 (its neighbours changed); dX of each image at batch B and at batch 1; at
   * batch B with 2 threads against 1 (forward output; dX, dW, dB); and the same call twice. What
   * qspark requires is asserted for its own kernels: a forward output independent of the batch
   * (calibration's partitions batch images differently) and repeatable gradients of a given
   * micro-batch (QAT's micro-batches are fixed whatever the partitioning). For oneDNN everything is
   * counted and reported, with oneDNN's largest difference from qspark relative to the largest
   * magnitude of qspark's result (forward / dX / dW).
   */
  @Test
  @Timeout(3600)
  void determinism() throws Exception {
    OneDnnConv.threads(1);
    StringBuilder rows = new StringBuilder(), failures = new StringBuilder();
    for (String model : MODELS.split(",")) {
      model = model.trim();
      int n = batch(model, false);
      Tally q = new Tally(), o = new Tally();
      Map<String, Integer> avx2 = isaProbe(model, n, "AVX2");
      if (avx2 != null) o.isa = 0;
      for (Layer l : layers(model, false, n)) {
        if (!OneDnnConv.supported(l.x, l.w, l.geometry(), l.group())) continue;
        q.layers++;
        o.layers++;
        Random r = new Random(3);
        Tensor x = random(r, l.x);
        Conv conv = new Conv(l.attrs);
        float[] yq = conv.forward(operands(l, x))[0].data();
        boolean qb = true;
        for (int i = 0; i < n; i++) qb &= same(yq, i, conv.forward(operands(l, x.slice0(i, i + 1)))[0].data(), 0, l.y);
        qb &= sameRange(yq, 1, conv.forward(operands(l, x.slice0(1, n)))[0].data(), n - 1, l.y);
        if (qb) q.fwdBatch++;
        else failures.append(model).append(' ').append(l.node).append(" forward depends on the batch\n");
        if (Arrays.equals(yq, conv.forward(operands(l, x))[0].data())) q.repeat++;
        else failures.append(model).append(' ').append(l.node).append(" forward differs from run to run\n");

        float[] yo = onednnForward(l, x, n, 1);
        boolean ob = true;
        for (int i = 0; i < n; i++) ob &= same(yo, i, onednnForward(l, x.slice0(i, i + 1), 1, 1), 0, l.y);
        ob &= sameRange(yo, 1, onednnForward(l, x.slice0(1, n), n - 1, 1), n - 1, l.y);
        if (ob) o.fwdBatch++;
        if (Arrays.equals(yo, onednnForward(l, x, n, 2))) o.fwdThreads++;
        if (Arrays.equals(yo, onednnForward(l, x, n, 1))) o.repeat++;
        if (avx2 != null && Integer.valueOf(Arrays.hashCode(yo)).equals(avx2.get(l.node))) o.isa++;
        o.fwdDiff = Math.max(o.fwdDiff, relDiff(yo, yq));
      }
      for (Layer l : layers(model, true, n)) {
        if (!OneDnnConv.supported(l.x, l.w, l.geometry(), l.group())) continue;
        Random r = new Random(4);
        Tensor x = random(r, l.x), dy = random(r, l.y);
        ConvGrad grad = new ConvGrad(l.attrs);
        Tensor y = Tensor.zeros(l.y);
        Tensor[] gq = grad.backward(operands(l, x), y, dy);
        boolean qb = true;
        for (int i = 0; i < n; i++) {
          int[] ys = l.y.clone();
          ys[0] = 1;
          qb &= same(gq[0].data(), i, grad.backward(operands(l, x.slice0(i, i + 1)), Tensor.zeros(ys), dy.slice0(i, i + 1))[0].data(), 0, l.x);
        }
        // not required: QAT's micro-batches are fixed by EpochOrder whatever the partitioning, and
        // ConvGrad's GEMM blocks are a function of the layer's shape, so a micro-batch's gradients
        // are the same in any run; counted to compare with oneDNN
        if (qb) q.dxBatch++;
        Tensor[] again = grad.backward(operands(l, x), y, dy);
        if (Arrays.equals(gq[0].data(), again[0].data()) && Arrays.equals(gq[1].data(), again[1].data())) q.repeat++;
        else failures.append(model).append(' ').append(l.node).append(" backward differs from run to run\n");

        float[][] go = onednnBackward(l, x, dy, n, 1);
        boolean ob = true;
        for (int i = 0; i < n; i++) ob &= same(go[0], i, onednnBackward(l, x.slice0(i, i + 1), dy.slice0(i, i + 1), 1, 1)[0], 0, l.x);
        if (ob) o.dxBatch++;
        float[][] go2 = onednnBackward(l, x, dy, n, 2);
        if (Arrays.equals(go[0], go2[0]) && Arrays.equals(go[1], go2[1]) && (go[2] == null || Arrays.equals(go[2], go2[2]))) o.bwdThreads++;
        float[][] go1 = onednnBackward(l, x, dy, n, 1);
        if (Arrays.equals(go[0], go1[0]) && Arrays.equals(go[1], go1[1])) o.repeat++;
        o.dxDiff = Math.max(o.dxDiff, relDiff(go[0], gq[0].data()));
        o.dwDiff = Math.max(o.dwDiff, relDiff(go[1], gq[1].data()));
      }
      rows.append(q.row(model, "qspark", false)).append(o.row(model, "oneDNN", true));
      System.out.print(q.row(model, "qspark", false) + o.row(model, "oneDNN", true));
    }
    OneDnnConv.threads(1);
    String report = "# Determinism: qspark's conv kernels and nd4j's oneDNN build\n\n" + BenchReport.header()
        + OneDnnConv.describe() + ".\nLayers (distinct shapes) whose results are bit-identical: forward output of each image at batch B,"
        + " 1 and B-1; forward at 2 threads vs 1; forward with oneDNN held to its AVX2 kernels (another JVM with"
        + " DNNL_MAX_CPU_ISA=AVX2: what an executor without AVX-512 computes) vs this one; dX of each image at batch B and 1;"
        + " backward (dX, dW, dB) at 2 threads vs 1; a repeated call (forward layers + backward layers)."
        + " B = " + batch("resnet_s", false) + " (28x28 models), " + batch("resnet18", false) + " (224x224).\n\n"
        + "| model | engine | layers | forward, batch-invariant | forward, thread-invariant | forward, same on AVX2 | dX, batch-invariant"
        + " | backward, thread-invariant | repeat | largest difference from qspark, fwd / dX / dW |\n"
        + "|---|---|---:|---:|---|---|---:|---|---:|---|\n" + rows;
    write("onednn-determinism.md", report);
    assertEquals("", failures.toString(), "qspark's conv kernels: forward independent of the batch, both repeatable");
  }

  /**
   * Hash of oneDNN's forward output per layer (node name), computed by another JVM whose oneDNN
   * may use no instruction set beyond {@code isa}; null where that JVM could not run.
   */
  private static Map<String, Integer> isaProbe(String model, int n, String isa) throws Exception {
    Path log = Path.of("target", "bench", "onednn-isa-" + model + ".txt");
    Files.createDirectories(log.getParent());
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx2g", "--add-modules=jdk.incubator.vector", "-Dqspark.shared=" + System.getProperty("qspark.shared", ""),
        "-cp", System.getProperty("java.class.path"), OneDnnConvBench.class.getName(), model, String.valueOf(n))
        .redirectErrorStream(true).redirectOutput(log.toFile());
    // oneDNN 2.3 reads DNNL_MAX_CPU_ISA, later versions ONEDNN_MAX_CPU_ISA
    pb.environment().put("DNNL_MAX_CPU_ISA", isa);
    pb.environment().put("ONEDNN_MAX_CPU_ISA", isa);
    Process p = pb.start();
    if (!p.waitFor(30, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      return null;
    }
    Map<String, Integer> r = new LinkedHashMap<>();
    for (String line : Files.readAllLines(log)) {
      String[] f = line.split("\t");
      if (f.length == 3 && f[0].equals("hash")) r.put(f[1], Integer.parseInt(f[2]));
    }
    return r;
  }

  /** {@link #isaProbe}'s other JVM: "hash, node, hash of oneDNN's forward output" per layer, inputs as {@link #determinism}'s. */
  public static void main(String[] args) throws Exception {
    OneDnnConv.threads(1);
    int n = Integer.parseInt(args[1]);
    for (Layer l : layers(args[0], false, n)) {
      if (!OneDnnConv.supported(l.x, l.w, l.geometry(), l.group())) continue;
      Tensor x = random(new Random(3), l.x);
      System.out.println("hash\t" + l.node + "\t" + Arrays.hashCode(onednnForward(l, x, n, 1)));
    }
  }

  private static float[] onednnForward(Layer l, Tensor x, int n, int threads) {
    int[] xs = l.x.clone(), ys = l.y.clone();
    xs[0] = n;
    ys[0] = n;
    OneDnnConv.threads(threads);
    try (OneDnnConv nd = new OneDnnConv(xs, l.wData, l.w, l.bias, l.geometry(), l.group(), l.activation(), ys)) {
      float[] out = new float[(int) Tensor.size(ys)];
      nd.forwardFrom(x.data(), out);
      return out;
    } finally {
      OneDnnConv.threads(1);
    }
  }

  private static float[][] onednnBackward(Layer l, Tensor x, Tensor dy, int n, int threads) {
    int[] xs = l.x.clone(), ys = l.y.clone();
    xs[0] = n;
    ys[0] = n;
    OneDnnConv.threads(threads);
    try (OneDnnConv nd = new OneDnnConv(xs, l.wData, l.w, l.bias, l.geometry(), l.group(), null, ys)) {
      float[] dx = new float[x.size()], dw = new float[l.wData.length], db = l.bias == null ? null : new float[l.w[0]];
      nd.backwardFrom(x.data(), l.wData, dy.data(), dx, dw, db);
      return new float[][] {dx, dw, db};
    } finally {
      OneDnnConv.threads(1);
    }
  }

  /** Image i of a against image j of b, bit for bit (shape gives the per-image size). */
  private static boolean same(float[] a, int i, float[] b, int j, int[] shape) {
    int per = (int) (Tensor.size(shape) / shape[0]);
    return Arrays.equals(a, i * per, (i + 1) * per, b, j * per, (j + 1) * per);
  }

  /** Images from..from+count of a against all of b. */
  private static boolean sameRange(float[] a, int from, float[] b, int count, int[] shape) {
    int per = (int) (Tensor.size(shape) / shape[0]);
    return Arrays.equals(a, from * per, (from + count) * per, b, 0, count * per);
  }

  private static double relDiff(float[] a, float[] ref) {
    double d = 0, m = 0;
    for (int i = 0; i < ref.length; i++) {
      d = Math.max(d, Math.abs(a[i] - ref[i]));
      m = Math.max(m, Math.abs(ref[i]));
    }
    return m == 0 ? d : d / m;
  }
}

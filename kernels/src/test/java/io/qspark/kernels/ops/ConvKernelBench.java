package io.qspark.kernels.ops;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every Conv of resnet_s and mbv2_s (inference graph: BatchNorm folded, activations fused) on
 * one thread at batch 32, as each of FloatForwardBench's two threads sees it: the SIMD kernels
 * against the reference kernels (im2col + OpenBLAS on 1 thread; the scalar loop for depthwise)
 * in the same process, alternating. Prints a Markdown
 * table and writes target/bench/conv-kernels.md. Select with {@code -Pbench -Dtest=ConvKernelBench}.
 */
@Tag("bench")
class ConvKernelBench {
  private static final int BATCH = Integer.getInteger("qspark.bench.convBatch", 32);
  private static final int ROUNDS = Integer.getInteger("qspark.bench.rounds", 3);
  private static final double SECONDS = Double.parseDouble(System.getProperty("qspark.bench.convSeconds", "0.15"));

  @Test
  void convKernels() throws Exception {
    Blas.setThreads(1);
    StringBuilder b = new StringBuilder("# Conv kernels, batch " + BATCH + ", 1 thread\n\n"
        + "Median CPU ms per call over " + ROUNDS + " alternating rounds; GFLOP/s = 2 x MACs / CPU time.\n\n"
        + "| model | node | conv | input | SIMD ms | ref ms | SIMD GFLOP/s | ref GFLOP/s | SIMD vs ref |\n"
        + "|---|---|---|---|---:|---:|---:|---:|---:|\n");
    String filter = System.getProperty("qspark.bench.convModels", "resnet_s.onnx,mbv2_s.onnx");
    for (String file : filter.split(",")) {
      Model model = Model.load(Shared.model(file)).forInference();
      double totalSimd = 0, totalBlas = 0, flops = 0;
      for (Node n : model.graph().nodes()) {
        if (!n.opType().equals("Conv")) continue;
        int[] xs = model.shape(n.inputs().get(0));
        xs[0] = BATCH;
        Tensor x = random(new Random(1), xs);
        Tensor w = model.graph().initializers().get(n.inputs().get(1));
        Tensor bias = n.inputs().size() > 2 ? model.graph().initializers().get(n.inputs().get(2)) : null;
        Tensor[] args = bias == null ? new Tensor[] {x, w} : new Tensor[] {x, w, bias};
        Conv simd = new Conv(n.attributes(), true);
        Conv blas = new Conv(n.attributes(), false);
        int[] ys = simd.forward(args)[0].shape();
        double macs = (double) Tensor.size(ys) * w.dim(1) * w.dim(2) * w.dim(3);
        double[] ts = new double[ROUNDS], tb = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
          ts[r] = time(simd, args);
          tb[r] = time(blas, args);
        }
        double s = median(ts), bl = median(tb);
        totalSimd += s;
        totalBlas += bl;
        flops += 2 * macs;
        b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.3f | %.3f | %.1f | %.1f | %.2f |%n",
            file.replace(".onnx", ""), n.name().replaceAll(".*/(features|layers)", ""), simd.describe(),
            Tensor.shapeString(xs), s * 1e3, bl * 1e3, 2 * macs / s / 1e9, 2 * macs / bl / 1e9, bl / s));
      }
      b.append(String.format(Locale.ROOT, "| %s | **all convs** | | | %.3f | %.3f | %.1f | %.1f | %.2f |%n",
          file.replace(".onnx", ""), totalSimd * 1e3, totalBlas * 1e3, flops / totalSimd / 1e9,
          flops / totalBlas / 1e9, totalBlas / totalSimd));
    }
    System.out.println(b);
    Path out = Path.of("target", "bench", "conv-kernels.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();

  /**
   * CPU seconds per call (this thread's CPU time, so that other processes on a shared machine
   * count less): calls repeated for about SECONDS, after a few untimed ones.
   */
  private static double time(Conv conv, Tensor[] args) {
    for (int i = 0; i < 3; i++) conv.forward(args);
    int calls = 0;
    long t0 = CPU.getCurrentThreadCpuTime(), t;
    do {
      conv.forward(args);
      calls++;
      t = CPU.getCurrentThreadCpuTime();
    } while (t - t0 < SECONDS * 1e9);
    return (t - t0) / 1e9 / calls;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static Tensor random(Random r, int... shape) {
    Tensor t = Tensor.zeros(shape);
    float[] d = t.data();
    for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
    return t;
  }
}

package io.qspark.kernels.testing;

import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import java.util.Map;

/** Top-1 of float and quantized inference graphs in one JVM, as the tests and benches need it. */
public final class Top1 {
  private Top1() {}

  /** The graph calibrated on {@code calib} (one pass, as `calibrate` without --sequential). */
  public static QuantizedModel calibrate(Graph g, QuantConfig cfg, Tensor calib) {
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    Executor ex = new Executor(g); // the histograms are one thread's
    String in = g.inputs().get(0).name();
    int n = calib.dim(0);
    for (int i = 0; i < n; i += 100) ex.run(Map.of(in, calib.slice0(i, Math.min(n, i + 100))), stats.observer(plan), false);
    return new QuantizedModel(g, plan, QuantParams.decide(g, plan, stats.histograms(), cfg));
  }

  /** Percent of images whose arg-max logit is their label, fake-quantized. */
  public static double quantized(QuantizedModel qm, Tensor images, int[] labels) {
    Executor ex = qm.executor(2);
    return score(x -> qm.run(ex, Map.of(qm.graph().inputs().get(0).name(), x)).values().iterator().next(), images, labels);
  }

  public static double floating(Graph g, Tensor images, int[] labels) {
    Executor ex = new Executor(g, 2);
    return score(ex::run, images, labels);
  }

  private static double score(java.util.function.UnaryOperator<Tensor> forward, Tensor images, int[] labels) {
    int n = images.dim(0);
    int correct = 0;
    for (int i = 0; i < n; i += 500) {
      int to = Math.min(n, i + 500);
      Tensor y = forward.apply(images.slice0(i, to));
      int classes = y.dim(1);
      float[] v = y.data();
      for (int k = 0; k < to - i; k++) {
        if (ArgMax.of(v, k * classes, classes) == labels[i + k]) correct++;
      }
    }
    return 100.0 * correct / n;
  }
}

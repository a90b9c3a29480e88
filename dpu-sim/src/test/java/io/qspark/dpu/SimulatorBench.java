package io.qspark.dpu;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Simulator images/s against the float executor's on the same model, batch and thread (one,
 * as a Spark task runs), in the same JVM: the median of 5 timed passes over 2,000 images after
 * one warm-up pass each. mvn -o -q -Pbench test -pl dpu-sim -Dtest=SimulatorBench
 */
@Tag("bench")
class SimulatorBench {
  @Test
  void simulatorVersusFloat() throws Exception {
    Tensor x = Shared.testImages(2000);
    for (String file : new String[] {"resnet_s.onnx", "mbv2_s.onnx"}) {
      Model m = Model.load(Shared.model(file)).forInference();
      String in = m.graph().inputs().get(0).name();
      QuantConfig cfg = QuantConfig.defaults();
      QuantPlan plan = QuantPlan.of(m.graph(), cfg);
      ActivationStats stats = new ActivationStats();
      new Executor(m.graph()).run(Map.of(in, Shared.images("train-images-idx3-ubyte.gz", 200)), stats.observer(plan), false);
      QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
      Simulator sim = new Simulator(DeployCompiler.compile(m.graph(), cfg, params, ""));
      Executor fl = new Executor(m.graph());
      double f = median(() -> batches(x, b -> fl.run(b)));
      double s = median(() -> batches(x, b -> sim.run(b)));
      System.out.printf(Locale.ROOT, "SimulatorBench %s: float %.0f images/s, simulator %.0f images/s, ratio %.2f%n",
          file, 2000 / f, 2000 / s, f / s);
    }
  }

  private static void batches(Tensor x, java.util.function.Consumer<Tensor> run) {
    for (int i = 0; i < x.dim(0); i += 64) run.accept(x.slice0(i, Math.min(x.dim(0), i + 64)));
  }

  private static double median(Runnable r) {
    r.run();
    double[] t = new double[5];
    for (int i = 0; i < t.length; i++) {
      long t0 = System.nanoTime();
      r.run();
      t[i] = (System.nanoTime() - t0) / 1e9;
    }
    java.util.Arrays.sort(t);
    return t[2];
  }
}

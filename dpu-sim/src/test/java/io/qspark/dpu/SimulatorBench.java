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
 * as a Spark task runs), in the same JVM: the medians of 7 timed passes each over 2,000 images,
 * float and simulator alternating, after one warm-up pass each. mvn -o -q -Pbench test -pl dpu-sim -Dtest=SimulatorBench
 */
@Tag("bench")
class SimulatorBench {
  private static final int PASSES = 7;

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
      Runnable f = () -> batches(x, b -> fl.run(b));
      Runnable s = () -> batches(x, b -> sim.run(b));
      f.run();
      s.run();
      // alternated, so load from other processes on the shared machine hits both alike
      double[] tf = new double[PASSES], ts = new double[PASSES];
      for (int i = 0; i < PASSES; i++) {
        tf[i] = seconds(f);
        ts[i] = seconds(s);
      }
      double mf = median(tf), ms = median(ts);
      System.out.printf(Locale.ROOT, "SimulatorBench %s: float %.0f images/s, simulator %.0f images/s, ratio %.2f%n",
          file, 2000 / mf, 2000 / ms, mf / ms);
    }
  }

  private static void batches(Tensor x, java.util.function.Consumer<Tensor> run) {
    for (int i = 0; i < x.dim(0); i += 64) run.accept(x.slice0(i, Math.min(x.dim(0), i + 64)));
  }

  private static double seconds(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double median(double[] t) {
    double[] c = t.clone();
    java.util.Arrays.sort(c);
    return c[c.length / 2];
  }
}

package io.qspark.kernels.bench;

import io.qspark.kernels.tensor.ArgMax;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import java.util.Map;

/** The table benches' one measurement: calibrate an inference model on 1,000 images, score it fake-quantized on 10,000. */
final class QuantizedTop1 {
  private QuantizedTop1() {}

  /** Top-1 in percent of {@code m} (an inference model) quantized with {@code cfg}. */
  static double of(Model m, QuantConfig cfg, Tensor calib, Tensor test, int[] labels) {
    String in = m.graph().inputs().get(0).name();
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    Executor ex = new Executor(m.graph());
    for (int i = 0; i < 1000; i += 100) ex.run(Map.of(in, calib.slice0(i, i + 100)), stats.observer(plan), false);
    QuantizedModel qm = new QuantizedModel(m.graph(), plan, QuantParams.decide(m.graph(), plan, stats.histograms(), cfg));
    Executor qex = qm.executor(2);
    int correct = 0;
    for (int i = 0; i < 10_000; i += 500) {
      float[] y = qm.run(qex, Map.of(in, test.slice0(i, i + 500))).values().iterator().next().data();
      for (int k = 0; k < 500; k++) {
        if (ArgMax.of(y, k * 10, 10) == labels[i + k]) correct++;
      }
    }
    return correct / 100.0;
  }
}

package io.qspark.kernels.bench;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.Granularity;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.ScaleKind;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Quantized top-1 on the 10,000 Fashion-MNIST test images of the DPU's quantizers (per-tensor,
 * power of two) against a non-DPU target's (per-channel weights, float scales), at 8, 6 and 4
 * bits, mse, calibrated on the first 1,000 training images: the table in BENCHMARKS.md.
 */
@Tag("bench")
class TargetTableBench {
  private static final String[] MODELS = {"resnet_s.onnx", "mbv2_s.onnx"};
  private static final double[] FLOAT = {93.09, 92.05};

  @Test
  void targetTable() throws Exception {
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 1000);
    Tensor test = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    StringBuilder b = new StringBuilder("| model | float | bits | per-tensor power-of-two (DPU) | per-channel float |\n|---|---|---|---|---|\n");
    for (int mi = 0; mi < MODELS.length; mi++) {
      Model m = Model.load(Shared.model(MODELS[mi])).forInference();
      String in = m.graph().inputs().get(0).name();
      for (int bits : new int[] {8, 6, 4}) {
        b.append(String.format(Locale.ROOT, "| %s | %.2f | %d |", MODELS[mi].replace(".onnx", ""), FLOAT[mi], bits));
        for (boolean dpu : new boolean[] {true, false}) {
          QuantConfig cfg = QuantConfig.defaults().withBits(bits);
          if (!dpu) cfg = cfg.withTarget(Granularity.PER_CHANNEL, ScaleKind.FLOAT);
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
              int best = 0;
              for (int c = 1; c < 10; c++) if (y[k * 10 + c] > y[k * 10 + best]) best = c;
              if (best == labels[i + k]) correct++;
            }
          }
          b.append(String.format(Locale.ROOT, " %.2f |", correct / 100.0));
          System.out.println(b);
        }
        b.append('\n');
      }
    }
    System.out.println(b);
    Path out = Path.of("target", "bench", "targets.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }
}

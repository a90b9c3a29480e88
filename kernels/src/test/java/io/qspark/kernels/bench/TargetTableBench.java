package io.qspark.kernels.bench;

import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.Granularity;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.ScaleKind;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
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
      for (int bits : new int[] {8, 6, 4}) {
        b.append(String.format(Locale.ROOT, "| %s | %.2f | %d |", MODELS[mi].replace(".onnx", ""), FLOAT[mi], bits));
        for (boolean dpu : new boolean[] {true, false}) {
          QuantConfig cfg = QuantConfig.defaults().withBits(bits);
          if (!dpu) cfg = cfg.withTarget(Granularity.PER_CHANNEL, ScaleKind.FLOAT);
          b.append(String.format(Locale.ROOT, " %.2f |", QuantizedTop1.of(m, cfg, calib, test, labels)));
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

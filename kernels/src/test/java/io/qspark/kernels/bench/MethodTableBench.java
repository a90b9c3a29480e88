package io.qspark.kernels.bench;

import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Quantized top-1 on the 10,000 Fashion-MNIST test images for every fix_point method, model and
 * width, calibrated on the first 1,000 training images: the table in BENCHMARKS.md. The same
 * kernels the Spark job runs, in one JVM (the Spark job's decisions are identical by design).
 */
@Tag("bench")
class MethodTableBench {
  private static final String[] MODELS = {"resnet_s.onnx", "mbv2_s.onnx", "resnet_s_imb.onnx"};
  private static final double[] FLOAT = {93.09, 92.05, 93.09};

  @Test
  void methodTable() throws Exception {
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 1000);
    Tensor test = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    StringBuilder b = new StringBuilder("## Quantized top-1 by method (1,000 calibration images, 10,000 test images)\n\n")
        .append("| model | float | bits | maxmin | percentile | mse | entropy |\n|---|---|---|---|---|---|---|\n");
    for (int mi = 0; mi < MODELS.length; mi++) {
      Model m = Model.load(Shared.model(MODELS[mi])).forInference();
      for (int bits : new int[] {8, 6}) {
        b.append(String.format(Locale.ROOT, "| %s | %.2f | %d |", MODELS[mi].replace(".onnx", ""), FLOAT[mi], bits));
        for (Method method : Method.values()) {
          QuantConfig cfg = QuantConfig.defaults().withBits(bits).withMethod(method);
          b.append(String.format(Locale.ROOT, " %.2f |", QuantizedTop1.of(m, cfg, calib, test, labels)));
        }
        b.append('\n');
      }
    }
    System.out.println(b);
    Path out = Path.of("target", "bench", "methods.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }
}

package io.qspark.kernels.exec;

import io.qspark.kernels.tensor.ArgMax;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Float top-1 on all 10,000 Fashion-MNIST test images equals the figure in shared/models/README.md. */
@Tag("slow")
class SharedModelsTop1Test {
  static Stream<Arguments> models() {
    return Stream.of(
        Arguments.of("resnet_s.onnx", 93.09),
        Arguments.of("resnet_s_fused.onnx", 93.09),
        Arguments.of("resnet_s_imb.onnx", 93.09),
        // exported with a fixed batch of 1 (realworld/README.md), run here 250 images at a time
        Arguments.of("realworld/resnet_s_static1.onnx", 93.09),
        Arguments.of("mbv2_s.onnx", 92.05),
        Arguments.of("mbv2_s_fused.onnx", 92.05));
  }

  @ParameterizedTest
  @MethodSource("models")
  void top1MatchesReadme(String file, double expected) throws Exception {
    Model m = Model.load(Shared.model(file));
    Executor ex = new Executor(m.graph());
    Tensor x = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    int correct = 0;
    for (int i = 0; i < 10_000; i += 250) {
      Tensor y = ex.run(x.slice0(i, i + 250));
      int classes = y.dim(1);
      float[] d = y.data();
      for (int b = 0; b < 250; b++) {
        if (ArgMax.of(d, b * classes, classes) == labels[i + b]) correct++;
      }
    }
    assertEquals(expected, correct / 100.0, 1e-9, file);
  }
}

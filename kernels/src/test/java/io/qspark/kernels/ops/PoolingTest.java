package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Pooling corners where runtimes disagree; PyTorch, which trained the models, decides. */
class PoolingTest {
  /**
   * ceil_mode windows hanging past the pads divide by the taps inside input + pads, not by the
   * kernel size (onnxruntime before opset 19 does the latter: microsoft/onnxruntime#16203).
   * Expected values are PyTorch's avg_pool2d(arange(1, 17).view(1, 1, 4, 4), 3, 2, 1,
   * ceil_mode=True, count_include_pad=True), quoted in pytorch/pytorch#183528.
   */
  @Test
  void averagePoolCeilModeCountIncludePadFollowsPyTorch() {
    float[] x = new float[16];
    for (int i = 0; i < 16; i++) x[i] = i + 1;
    Attributes a = new Attributes(Map.of("kernel_shape", new long[] {3, 3},
        "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1}, "ceil_mode", 1L,
        "count_include_pad", 1L));
    Tensor y = new AveragePool(a).forward(new Tensor[] {Tensor.of(x, 1, 1, 4, 4)})[0];
    assertArrayEquals(new int[] {1, 1, 3, 3}, y.shape());
    assertArrayEquals(new float[] {1.5555556f, 3.3333333f, 2.0f, 6.3333335f, 11.0f, 6.0f, 4.5f, 7.5f, 4.0f},
        y.data(), 1e-5f);
  }
}

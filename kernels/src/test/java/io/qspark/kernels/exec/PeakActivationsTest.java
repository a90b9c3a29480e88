package io.qspark.kernels.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.Shared;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("slow")
class PeakActivationsTest {
  /**
   * resnet18's inference graph peaks at its MaxPool: the stem conv's output (64 x 112 x 112,
   * ReLU fused) and the pool's (64 x 56 x 56) are live together, the image itself having been
   * released after the conv, its only reader.
   */
  @Test
  void resnet18PeaksAtTheStemPool() {
    Model m = Model.load(Shared.model("imagenet/resnet18.onnx")).forInference();
    long stem = 64L * 112 * 112 * 4;
    long pool = 64L * 56 * 56 * 4;
    assertEquals(stem + pool, PeakActivations.bytesPerImage(m.graph(), m.shapes()));
  }

  /** The Fashion-MNIST sample's input (1 x 28 x 28) is small next to its first conv's output. */
  @Test
  void smallModelCountsInputAndFirstConvTogether() {
    Model m = Model.load(Shared.model("resnet_s.onnx")).forInference();
    long peak = PeakActivations.bytesPerImage(m.graph(), m.shapes());
    long input = 28L * 28 * 4;
    String first = m.graph().nodes().get(0).outputs().get(0);
    long firstOut = 4;
    for (int d : m.shape(first)) firstOut *= Math.max(1, d);
    assertTrue(peak >= input + firstOut, "peak " + peak + " < input + first output " + (input + firstOut));
    assertTrue(peak < 1 << 20, "a 28x28 model holds well under 1 MiB per image, got " + peak);
  }
}

package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.quant.FakeQuant;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What Backprop relies on when it skips the fake-quant of a ReLU (or any value-preserving op)
 * whose input carries the same fix_point: fake-quant of such an output is the identity, bit for
 * bit, its straight-through mask passes every gradient, and TQT's threshold gradient is zero.
 */
class OnGridTest {
  @Test
  void reluOfAQuantizedValueIsOnItsGrid() {
    Random r = new Random(3);
    for (Rounding rounding : Rounding.values()) {
      for (int bits : new int[] {4, 6, 8}) {
        for (int fp : new int[] {-2, 0, 3, 7}) {
          FixPoint q = new FixPoint(bits, fp, rounding);
          float[] x = new float[4099];
          for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * q.maxValue() * 1.5);
          x[0] = -0f;
          x[1] = Float.MAX_VALUE;
          x[2] = -Float.MAX_VALUE;
          float[] y = new float[x.length], z = new float[x.length];
          FakeQuant.apply(q, x, y, 0, x.length);
          float[] relu = y.clone();
          Activation.of("Relu", Attributes.empty()).apply(relu, 0, relu.length);
          FakeQuant.apply(q, relu, z, 0, z.length);
          String what = q.toString();
          for (int i = 0; i < z.length; i++) {
            assertEquals(Float.floatToRawIntBits(relu[i]), Float.floatToRawIntBits(z[i]), what);
          }
          float[] g = new float[x.length];
          Arrays.fill(g, 1f);
          float[] want = g.clone();
          Ste.mask(q, relu, g, 0, g.length);
          assertArrayEquals(want, g, what);
          TqtGrad tqt = new TqtGrad(name -> 0, 1);
          tqt.backward("v", q, relu, g.clone());
          assertEquals(0.0, tqt.sums()[0], what);
        }
      }
    }
  }

  /**
   * A fused ReLU's mask comes from the conv's output before its fake-quant: 0.3 rounds to 0 at
   * step 1, yet the ReLU passed it, so the straight-through gradient reaches the weight.
   */
  @Test
  void fusedActivationMaskSeesTheValueBeforeFakeQuant() {
    Map<String, Tensor> operands = new HashMap<>();
    operands.put("x", Tensor.of(new float[] {0.3f}, 1, 1, 1, 1));
    operands.put("w", Tensor.of(new float[] {1f}, 1, 1, 1, 1));
    Node conv = new Node("c", "Conv", List.of("x", "w"), List.of("y"), Activation.of("Relu", Attributes.empty()).fuseInto(Attributes.empty()));
    Graph g = new Graph("t", List.of(), List.of("y"), operands, List.of(conv));
    Backprop bp = new Backprop(g);
    FixPoint unit = new FixPoint(8, 0, Rounding.HALF_EVEN);
    Backprop.Tape t = bp.forward(Map.of(), name -> name.equals("y") ? unit : null);
    assertEquals(0f, t.value("y").data()[0]);
    Map<String, Tensor> grads = bp.backward(t, Map.of("y", Tensor.of(new float[] {1f}, 1, 1, 1, 1)));
    assertEquals(0.3f, grads.get("w").data()[0]);
  }
}

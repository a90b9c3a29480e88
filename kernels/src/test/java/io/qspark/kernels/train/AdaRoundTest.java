package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * AdaRound on the shared resnet_s at W4A4 with 8-bit biases, on 300 of the calibration images:
 * the same bits for 1, 3 and 8 shards, every kept layer's weights on the grid at the floor or
 * the ceiling of w / s, and the layers' own error lower than nearest rounding's.
 */
@Tag("slow")
class AdaRoundTest {
  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void sameBitsForAnyShardingAndTheRoundingEndsHard() throws Exception {
    AdaQuantTest.Setup s = AdaQuantTest.calibrate("resnet_s.onnx", QuantConfig.defaults().withBits(4).withBiasBits(8));
    Tensor data = s.calib().slice0(0, 300);
    AdaRoundOptions opt = AdaRoundOptions.defaults().withSteps(4).withImagesPerStep(100).withCheckImages(150);
    AdaRound.Result[] r = new AdaRound.Result[3];
    int[] parts = {1, 3, 8};
    for (int i = 0; i < parts.length; i++) {
      try (LocalShards shards = new LocalShards(s.graph(), s.plan(), data, parts[i], 2, opt)) {
        r[i] = AdaRound.run(s.graph(), s.plan(), s.params(), s.cfg(), opt, shards, null);
      }
    }
    for (int i = 1; i < parts.length; i++) {
      assertEquals(r[0].params().activations(), r[i].params().activations(), parts[i] + " shards");
      assertEquals(r[0].params().quantizers(), r[i].params().quantizers(), parts[i] + " shards");
      for (String k : r[0].graph().initializers().keySet()) {
        assertArrayEquals(r[0].graph().initializers().get(k).data(), r[i].graph().initializers().get(k).data(), k);
      }
      for (int l = 0; l < r[0].layers().size(); l++) {
        LayerReport a = r[0].layers().get(l), b = r[i].layers().get(l);
        assertEquals(a.kept(), b.kept(), a.layer());
        assertEquals(a.outputMseAfter(), b.outputMseAfter(), a.layer() + ": the end-to-end error is exact");
      }
    }
    int kept = 0;
    for (Node n : s.graph().nodes()) {
      if (!n.opType().equals("Conv") && !n.opType().equals("Gemm")) continue;
      float[] w = s.graph().initializers().get(n.input(1)).data(), t = r[0].graph().initializers().get(n.input(1)).data();
      if (java.util.Arrays.equals(w, t)) continue;
      kept++;
      FixPoint q = r[0].params().params().get(n.input(1));
      for (int i = 0; i < w.length; i++) {
        double k = t[i] / q.step(), x = w[i] / q.step();
        double lo = Math.max(q.qmin(), Math.min(q.qmax(), Math.floor(x))), hi = Math.max(q.qmin(), Math.min(q.qmax(), Math.ceil(x)));
        assertTrue(k == lo || k == hi, n.name() + " weight " + i + ": " + x + " steps became " + k);
      }
    }
    assertEquals(r[0].layers().stream().filter(LayerReport::kept).count(), kept);
    assertTrue(kept > 0);
    for (LayerReport l : r[0].layers()) {
      if (l.kept()) assertTrue(l.layerMseAfter() < l.layerMseBefore() * 1.05, l.summary());
    }
  }
}

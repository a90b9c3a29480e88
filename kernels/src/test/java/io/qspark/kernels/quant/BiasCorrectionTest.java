package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.passes.CrossLayerEqualization;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.Top1;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class BiasCorrectionTest {

  @Test
  void channelSumsDoNotDependOnHowValuesAreSplit() {
    Random r = new Random(7);
    float[] x = new float[6 * 3 * 50];
    for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(8) - 4));
    ChannelSums whole = new ChannelSums();
    whole.add("l", x, 6, 3);
    ChannelSums a = new ChannelSums(), b = new ChannelSums(), c = new ChannelSums();
    a.add("l", java.util.Arrays.copyOfRange(x, 0, 150), 1, 3);
    b.add("l", java.util.Arrays.copyOfRange(x, 150, 600), 3, 3);
    c.add("l", java.util.Arrays.copyOfRange(x, 600, 900), 2, 3);
    ChannelSums merged = c.merge(a).merge(b);
    assertArrayEquals(whole.means().get("l"), merged.means().get("l"));
    assertEquals(300, merged.count("l"));
    double plain = 0;
    for (int i = 0; i < 6; i++) for (int j = 0; j < 50; j++) plain += x[i * 150 + j];
    assertEquals(plain / 300, whole.means().get("l")[0], 1e-9);
  }

  @Tag("slow")
  @Test
  void wavesFollowTheGraphAndCoverEveryBiasedLayer() {
    Graph g = Model.load(Shared.model("resnet_s.onnx")).forInference().graph();
    QuantPlan plan = QuantPlan.of(g, QuantConfig.defaults());
    List<Set<String>> waves = BiasCorrection.waves(g, plan);
    int layers = 0;
    for (Set<String> w : waves) layers += w.size();
    assertEquals(plan.params().stream().filter(p -> p.role() == QuantPlan.Role.BIAS).count(), layers);
    assertEquals(Set.of("/stem/stem.0/Conv"), waves.get(0));
    // a downsampling block's shortcut reads the block input, as its first conv does
    assertTrue(waves.stream().anyMatch(w -> w.contains("/layers/layers.2/sc/sc.0/Conv") && w.contains("/layers/layers.2/c1/c1.0/Conv")));
  }

  @Tag("slow")
  @Test
  void theMeasuredShiftIsTakenFromTheBias() throws Exception {
    Graph g = Model.load(Shared.model("mbv2_s.onnx")).forInference().graph();
    QuantConfig cfg = QuantConfig.defaults().withWidths(4, 8, 4);
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 200);
    QuantizedModel qm = Top1.calibrate(g, cfg, calib);
    Set<String> first = BiasCorrection.waves(g, qm.plan()).get(0);
    QuantParams p = BiasCorrection.paramsFor(g, qm.plan(), qm.params(), cfg);
    Map<String, double[]> shift = BiasCorrection.local(calib, 50).measure(g, qm.plan(), p, first, 0, 1).means();
    // batches of another size see the same values, so the exact sums give the same means
    assertArrayEquals(shift.get(first.iterator().next()),
        BiasCorrection.local(calib, 37).measure(g, qm.plan(), p, first, 0, 1).means().get(first.iterator().next()));
    assertTrue(maxAbs(shift) > 1e-3, "the 4-bit stem shifts its output by " + maxAbs(shift));
    Graph once = BiasCorrection.corrected(g, shift);
    for (io.qspark.kernels.graph.Node n : g.nodes()) {
      float[] b = g.initializers().get(n.input(2).isEmpty() ? "-" : n.input(2)) == null ? null : g.initializers().get(n.input(2)).data();
      if (b == null) continue;
      float[] after = once.initializers().get(n.input(2)).data();
      for (int c = 0; c < b.length; c++) {
        float want = first.contains(n.name()) ? (float) (b[c] - shift.get(n.name())[c]) : b[c];
        assertEquals(want, after[c], 0f, n.name() + " channel " + c);
      }
    }
  }

  @Tag("slow")
  @Test
  void biasCorrectionImprovesFourBitWeights() throws Exception {
    Graph g = CrossLayerEqualization.apply(Model.load(Shared.model("mbv2_s.onnx")).forInference().graph(),
        CrossLayerEqualization.Relu6.KEEP).graph();
    QuantConfig cfg = QuantConfig.defaults().withWidths(4, 8, 4);
    // fewer images than the benchmark, for the suite's time; the effect is several points
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 300);
    Tensor test = Shared.testImages(2_000);
    int[] labels = Shared.testLabels(2_000);
    QuantizedModel plain = Top1.calibrate(g, cfg, calib);
    Graph corrected = BiasCorrection.correct(g, plain.plan(), plain.params(), cfg, BiasCorrection.local(calib, 100));
    double before = Top1.quantized(plain, test, labels);
    double after = Top1.quantized(Top1.calibrate(corrected, cfg, calib), test, labels);
    System.out.printf("mbv2_s W4A8 +CLE: %.2f, +bias correction: %.2f%n", before, after);
    assertTrue(after > before, before + " -> " + after);
  }

  private static double maxAbs(Map<String, double[]> means) {
    double m = 0;
    for (double[] v : means.values()) for (double x : v) m = Math.max(m, Math.abs(x));
    return m;
  }
}

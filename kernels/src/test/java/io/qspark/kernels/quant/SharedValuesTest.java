package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.TinyNet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a variant of a calibration takes from a base run, and that it gives the full run's bits. */
class SharedValuesTest {
  /**
   * The sets by hand on {@link PointVariantsTest#net()}: x -> c1.a -> r (c1.a's point) -> c2 ->
   * f (c2's point) -> fc. A point's change reaches its members and everything after them.
   */
  @Test
  void changedValuesByHand() {
    Graph g = PointVariantsTest.net();
    QuantPlan plan = QuantPlan.of(g, PointVariantsTest.w4a4());
    Map<String, FixPoint> acts = new java.util.LinkedHashMap<>(), ps = new java.util.LinkedHashMap<>();
    for (String a : List.of("x", "c1.a", "c2", "fc")) acts.put(a, new FixPoint(4, 2, Rounding.HALF_UP));
    for (String w : List.of("c1.a.w", "c1.a.b", "c2.w", "c2.b", "fc.w", "fc.b")) ps.put(w, new FixPoint(4, 3, Rounding.HALF_AWAY));
    QuantParams all = QuantParams.partial(acts, ps);
    QuantParams none = all.only(Set.of(), Set.of());
    List<PointVariants.Point> p = PointVariants.points(plan); // x, c1.a, c2, fc, c1.a.w, c2.w, fc.w
    assertEquals(Set.of(), SharedValues.changed(g, plan, none, none));
    assertEquals(Set.of("x", "c1.a", "r", "c2", "f", "fc"), SharedValues.changed(g, plan, none, PointVariants.only(all, p.get(0))));
    assertEquals(Set.of("c1.a", "r", "c2", "f", "fc"), SharedValues.changed(g, plan, none, PointVariants.only(all, p.get(1))));
    assertEquals(Set.of("c2", "f", "fc"), SharedValues.changed(g, plan, none, PointVariants.only(all, p.get(2))));
    assertEquals(Set.of("fc"), SharedValues.changed(g, plan, none, PointVariants.only(all, p.get(3))));
    assertEquals(Set.of("c2", "f", "fc"), SharedValues.changed(g, plan, none, PointVariants.only(all, p.get(5))));
    assertEquals(Set.of("fc"), SharedValues.changed(g, plan, none, PointVariants.only(all, p.get(6))));
    assertEquals(Set.of("c2", "f", "fc"), SharedValues.changed(g, plan, all, PointVariants.allBut(all, p.get(2))));
    assertEquals(Set.of("c1.a", "r", "c2", "f", "fc"), SharedValues.changed(g, plan, all, PointVariants.allBut(all, p.get(4))));
  }

  /**
   * On a residual block: every point's only- and all-but variant run from its base's values gives
   * the bits of its full run, and recomputes less than the whole graph where the point is not the
   * input.
   */
  @Test
  void reusedRunsGiveTheFullRunsBits() {
    Graph g = TinyNet.residualClassifier();
    QuantConfig cfg = QuantConfig.defaults().withBits(4);
    QuantPlan plan = QuantPlan.of(g, cfg);
    Random r = new Random(7);
    float[] x = new float[6 * 4 * 8 * 8];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    Map<String, Tensor> feeds = Map.of("x", Tensor.of(x, new int[] {6, 4, 8, 8}));
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(feeds, stats.observer(plan), false);
    QuantParams all = QuantParams.decide(g, plan, stats.histograms(), cfg);
    QuantizedModel.FakeWeights weights = new QuantizedModel.FakeWeights();
    QuantizedModel none = new QuantizedModel(g, plan, all.only(Set.of(), Set.of()), weights);
    QuantizedModel every = new QuantizedModel(g, plan, all, weights);
    Map<String, Tensor> noneValues = none.executor(1).run(feeds, none.fakeQuant(), true);
    Map<String, Tensor> allValues = every.executor(1).run(feeds, every.fakeQuant(), true);
    Set<String> partial = new HashSet<>();
    for (PointVariants.Point p : PointVariants.points(plan)) {
      for (boolean only : new boolean[] {true, false}) {
        QuantizedModel base = only ? none : every;
        QuantizedModel v = new QuantizedModel(g, plan, only ? PointVariants.only(all, p) : PointVariants.allBut(all, p), weights);
        Set<String> changed = SharedValues.changed(base.graph(), plan, base.params(), v.params());
        Map<String, Tensor> given = SharedValues.reusable(only ? noneValues : allValues, changed);
        Executor ex = v.executor(1);
        float[] full = ex.run(feeds, v.fakeQuant(), false).get("fc").data();
        float[] reused = ex.run(feeds, v.fakeQuant(), given).get("fc").data();
        assertArrayEquals(full, reused, p.shown() + (only ? " only" : " all but"));
        if (!given.isEmpty()) partial.add(p.shown());
      }
    }
    // all but the input, c1's output and c1's weights, whose change reaches every node, reuse something
    assertEquals(Set.of("r2", "add", "c3", "fc", "c2 (weights)", "c3 (weights)", "fc (weights)"), partial);
  }
}

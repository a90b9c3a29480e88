package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.testing.TinyNet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The points sensitivity analysis scores one at a time, the variants made of them, and the rules that raise them. */
class PointVariantsTest {
  /** x -> conv "c1.a" -> Relu -> conv "c2" -> Flatten -> Gemm "fc": the Relu and the Flatten share their input's point. */
  static Graph net() {
    TinyNet t = new TinyNet(-1, 1, 4, 4);
    String c1 = t.conv("c1.a", "x", 1, 2, 3, 1, 1, 1);
    String r = t.op("r", "Relu", c1);
    String c2 = t.conv("c2", r, 2, 2, 3, 1, 1, 1);
    String f = t.op("f", "Flatten", Attributes.empty(), c2);
    return t.graph(t.gemm("fc", f, 32, 3));
  }

  static QuantConfig w4a4() {
    return QuantConfig.defaults().withBits(4);
  }

  @Test
  void everyActivationPointThenEveryLayersWeightsWithTheirBias() {
    QuantPlan plan = QuantPlan.of(net(), w4a4());
    List<PointVariants.Point> points = PointVariants.points(plan);
    assertEquals(List.of(
        new PointVariants.Point("x", PointVariants.Kind.ACTIVATION, null, List.of(), 4),
        new PointVariants.Point("c1.a", PointVariants.Kind.ACTIVATION, null, List.of(), 4),
        new PointVariants.Point("c2", PointVariants.Kind.ACTIVATION, null, List.of(), 4),
        new PointVariants.Point("fc", PointVariants.Kind.ACTIVATION, null, List.of(), 4),
        new PointVariants.Point("c1.a.w", PointVariants.Kind.WEIGHTS, "c1.a", List.of("c1.a.w", "c1.a.b"), 4),
        new PointVariants.Point("c2.w", PointVariants.Kind.WEIGHTS, "c2", List.of("c2.w", "c2.b"), 4),
        new PointVariants.Point("fc.w", PointVariants.Kind.WEIGHTS, "fc", List.of("fc.w", "fc.b"), 4)), points);
    assertEquals("c2", points.get(2).shown());
    assertEquals("c1.a (weights)", points.get(4).shown());
  }

  @Test
  void onlyAndAllButSplitTheDecisions() {
    Map<String, FixPoint> acts = new LinkedHashMap<>(), ps = new LinkedHashMap<>();
    for (String a : List.of("x", "c1.a", "c2", "fc")) acts.put(a, new FixPoint(4, 2, Rounding.HALF_UP));
    for (String p : List.of("c1.a.w", "c1.a.b", "c2.w", "c2.b", "fc.w", "fc.b")) ps.put(p, new FixPoint(4, 3, Rounding.HALF_AWAY));
    QuantParams all = QuantParams.partial(acts, ps);
    List<PointVariants.Point> points = PointVariants.points(QuantPlan.of(net(), w4a4()));

    QuantParams onlyC2 = PointVariants.only(all, points.get(2));
    assertEquals(Set.of("c2"), onlyC2.activations().keySet());
    assertTrue(onlyC2.quantizers().isEmpty());
    QuantParams onlyC1w = PointVariants.only(all, points.get(4));
    assertTrue(onlyC1w.activations().isEmpty());
    assertEquals(Set.of("c1.a.w", "c1.a.b"), onlyC1w.quantizers().keySet());
    assertEquals(ps.get("c1.a.w"), onlyC1w.quantizers().get("c1.a.w").perTensor());

    QuantParams butC2 = PointVariants.allBut(all, points.get(2));
    assertEquals(Set.of("x", "c1.a", "fc"), butC2.activations().keySet());
    assertEquals(ps.keySet(), butC2.quantizers().keySet());
    QuantParams butFcW = PointVariants.allBut(all, points.get(6));
    assertEquals(acts.keySet(), butFcW.activations().keySet());
    assertEquals(Set.of("c1.a.w", "c1.a.b", "c2.w", "c2.b"), butFcW.quantizers().keySet());
  }

  /** A raising rule selects its point alone: the conv named "c1.a" and not a node "c1Xa"; the Flatten's shared point follows c2. */
  @Test
  void raisingRulesSelectTheirPointAlone() {
    Graph g = net();
    List<PointVariants.Point> points = PointVariants.points(QuantPlan.of(g, w4a4()));
    LayerRule weights = points.get(4).rule(8, 8);
    assertEquals(LayerRule.bits("c1\\.a", 8, 0, 8), weights);
    LayerRule act = points.get(2).rule(8, 0);
    assertEquals(LayerRule.bits("c2", 0, 8, 0), act);
    QuantPlan raised = QuantPlan.of(g, w4a4().withLayers(List.of(weights, act)));
    Map<String, Integer> bits = new LinkedHashMap<>();
    for (QuantPlan.ParamPoint p : raised.params()) bits.put(p.name(), p.bits());
    assertEquals(Map.of("c1.a.w", 8, "c1.a.b", 8, "c2.w", 4, "c2.b", 4, "fc.w", 4, "fc.b", 4), bits);
    Map<String, Integer> actBits = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : raised.activations()) actBits.put(a.name(), a.bits());
    assertEquals(Map.of("x", 4, "c1.a", 4, "c2", 8, "fc", 4), actBits);
    assertEquals(List.of("c2", "f"), raised.activations().get(2).members());
    assertEquals("layers[1]", raised.activations().get(2).rule());

    String name = "/a.b(c)[0]+x";
    assertTrue(name.matches(PointVariants.literal(name)));
    assertFalse("/aXb(c)[0]+x".matches(PointVariants.literal(name)));
    assertEquals("/a\\.b\\(c\\)\\[0\\]\\+x", PointVariants.literal(name));
  }
}

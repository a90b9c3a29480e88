package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.testing.Shared;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Per-layer width rules: their syntax, what they select on resnet_s, the quantizers and the file they give. */
class LayerBitsTest {
  @Test
  void parseAndPrint() {
    assertEquals(new LayerBits(":input", 8, 8, 8), LayerBits.parse(":input=8"));
    assertEquals(new LayerBits("/fc/Gemm", 8, 0, 16), LayerBits.parse("/fc/Gemm=8,,16"));
    // the match is everything before the last '=': a regular expression may hold one
    assertEquals(new LayerBits("a(?=b)", 0, 6, 0), LayerBits.parse("a(?=b)=,6,"));
    for (String s : List.of(":input=8", "/fc/Gemm=8,,16", ".*c1.*=4,8,8")) assertEquals(s, LayerBits.parse(s).toString());
    assertEquals("layer widths 'x': expected MATCH=B or MATCH=W,A,B",
        assertThrows(IllegalArgumentException.class, () -> LayerBits.parse("x")).getMessage());
    assertEquals("layer widths 'x=3,4': expected MATCH=B or MATCH=W,A,B",
        assertThrows(IllegalArgumentException.class, () -> LayerBits.parse("x=3,4")).getMessage());
    assertEquals("unknown layer selector ':output' (:input, :first, :last, or a regular expression of node names)",
        assertThrows(IllegalArgumentException.class, () -> LayerBits.parse(":output=8")).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LayerBits.parse("a(=8")).getMessage()
        .startsWith("layer match 'a(' is not a regular expression"));
    assertEquals("weight bit width 20 outside 2..16",
        assertThrows(IllegalArgumentException.class, () -> LayerBits.parse("x=20")).getMessage());
    assertEquals("layer width rule 'x' sets no width",
        assertThrows(IllegalArgumentException.class, () -> LayerBits.parse("x=,,")).getMessage());
  }

  /**
   * ':input=8;:first=8;:last=8' over W4: the input point, the stem conv (weights, bias, output)
   * and the Gemm (weights, bias, the logits) at 8 bits, everything else at 4; a later rule wins.
   */
  @Test
  void selectorsAndOrderOnResnetS() {
    Graph g = QuantPlanTest.resnet();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withLayerBits(LayerBits.parseAll(List.of(":input=8", ":first=8",
        ":last=8")));
    QuantPlan plan = QuantPlan.of(g, cfg);
    Node stem = g.nodes().stream().filter(n -> n.opType().equals("Conv")).findFirst().orElseThrow();
    Node gemm = g.nodes().stream().filter(n -> n.opType().equals("Gemm")).findFirst().orElseThrow();
    Map<String, Integer> acts = new HashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) acts.put(a.name(), a.bits());
    String in = g.inputs().get(0).name();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      boolean wide = a.name().equals(in) || a.members().contains(stem.outputs().get(0)) || a.members().contains(gemm.outputs().get(0));
      assertEquals(wide ? 8 : 4, a.bits(), a.name());
    }
    for (QuantPlan.ParamPoint p : plan.params()) {
      boolean wide = p.node().equals(stem.name()) || p.node().equals(gemm.name());
      assertEquals(wide ? 8 : 4, p.bits(), p.name());
    }
    assertEquals(3, plan.activations().stream().filter(a -> a.bits() == 8).count());

    // regular expressions on node names, the later rule winning where both match
    QuantConfig two = QuantConfig.defaults().withLayerBits(LayerBits.parseAll(List.of(".*Conv=6", "/layers/layers\\.0/.*=5,,")));
    for (QuantPlan.ParamPoint p : QuantPlan.of(g, two).params()) {
      int expect = p.node().equals(gemm.name()) ? 8
          : p.node().startsWith("/layers/layers.0/") && p.role() == QuantPlan.Role.WEIGHT ? 5 : 6;
      assertEquals(expect, p.bits(), p.name());
    }
  }

  /** The quantizers take the plan's widths; the file records the rules and reads them back, and has no key without them. */
  @Test
  void quantizersAndQuantInfo() throws Exception {
    Graph g = QuantPlanTest.resnet();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withBiasBits(8)
        .withLayerBits(LayerBits.parseAll(List.of(":input=8", ":last=8,8,16")));
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(Map.of(g.inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 20)), stats.observer(plan), false);
    QuantParams params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    for (QuantPlan.ActivationPoint a : plan.activations()) assertEquals(a.bits(), params.activation(a.name()).bits(), a.name());
    for (QuantPlan.ParamPoint p : plan.params()) assertEquals(p.bits(), params.params().get(p.name()).bits(), p.name());
    assertTrue(plan.params().stream().anyMatch(p -> p.bits() == 16));
    String json = QuantInfo.write("m", "sha", cfg, plan, params, stats, g);
    assertTrue(json.contains("\"layer_bits\": ["), json.substring(0, 800));
    QuantInfo.Parsed back = QuantInfo.read(json);
    assertEquals(cfg, back.config());
    assertEquals(params.quantizers(), back.params().quantizers());
    assertEquals(json, QuantInfo.write("m", "sha", back.config(), QuantPlan.of(g, back.config()), back.params(), stats, g));
    QuantConfig plain = QuantConfig.defaults().withBits(4);
    assertFalse(QuantInfo.write("m", "sha", plain, QuantPlan.of(g, plain), QuantParams.decide(g, QuantPlan.of(g, plain),
        stats.histograms(), plain), stats, g).contains("layer_bits"));
  }
}

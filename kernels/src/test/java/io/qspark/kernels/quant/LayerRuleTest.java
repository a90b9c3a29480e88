package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.TinyNet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Per-layer width rules: their syntax, what they select on resnet_s, the quantizers and the file they give. */
class LayerRuleTest {
  @Test
  void shorthandParses() {
    assertEquals(LayerRule.bits(":input", 8, 8, 8), LayerRule.parse(":input=8"));
    assertEquals(LayerRule.bits("/fc/Gemm", 8, 0, 16), LayerRule.parse("/fc/Gemm=8,,16"));
    // the match is everything before the last '=': a regular expression may hold one
    assertEquals(LayerRule.bits("a(?=b)", 0, 6, 0), LayerRule.parse("a(?=b)=,6,"));
    assertEquals("layer widths 'x': expected MATCH=B or MATCH=W,A,B",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.parse("x")).getMessage());
    assertEquals("layer widths 'x=3,4': expected MATCH=B or MATCH=W,A,B",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.parse("x=3,4")).getMessage());
    assertEquals("unknown layer selector ':output' (:input, :first, :last, or a regular expression of node names)",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.parse(":output=8")).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LayerRule.parse("a(=8")).getMessage()
        .startsWith("layer match 'a(' is not a regular expression"));
    assertEquals("layer rule {match=x}: weight bit width 20 outside 2..16",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.parse("x=20")).getMessage());
    assertEquals("layer rule {match=x} sets nothing (bits, weight_bits, activation_bits, bias_bits, method or exclude)",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.parse("x=,,")).getMessage());
  }

  /** The map form (YAML layers: entries, quant_info.json) and the flow-YAML text --print-config shows. */
  @Test
  void mapFormAndText() {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("op", "Conv");
    m.put("bits", 6L);
    m.put("activation_bits", 8);
    m.put("method", "maxmin");
    LayerRule r = LayerRule.of(m);
    assertEquals(new LayerRule(null, List.of("Conv"), 6, 8, 6, Method.MAXMIN, null), r);
    assertEquals("{op: Conv, weight_bits: 6, activation_bits: 8, bias_bits: 6, method: maxmin}", r.toString());
    assertEquals(r, LayerRule.of(r.toMap()));
    LayerRule ex = LayerRule.of(Map.of("match", "it's.*", "exclude", true));
    assertEquals(LayerRule.exclude("it's.*", List.of()), ex);
    assertEquals("{match: 'it''s.*', exclude: true}", ex.toString());
    assertEquals("{match: '/fc/Gemm', op: [Gemm, MatMul], exclude: false}",
        new LayerRule("/fc/Gemm", List.of("Gemm", "MatMul"), 0, 0, 0, null, false).toString());

    assertEquals("layer rule {match=x, wieght_bits=4}: unknown key wieght_bits (match, op, bits, weight_bits,"
        + " activation_bits, bias_bits, method, exclude)", assertThrows(IllegalArgumentException.class,
            () -> LayerRule.of(ordered("match", "x", "wieght_bits", 4))).getMessage());
    assertEquals("layer rule {bits=8}: needs a match (a regular expression of node names, :input, :first or :last) or an op"
        + " type", assertThrows(IllegalArgumentException.class, () -> LayerRule.of(Map.of("bits", 8))).getMessage());
    assertEquals("layer rule {match=x}: activation bit width 17 outside 2..16",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.of(ordered("match", "x", "activation_bits", 17))).getMessage());
    assertEquals("layer rule {match=x, bits=eight}: bits 'eight' is not a bit width",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.of(ordered("match", "x", "bits", "eight"))).getMessage());
    assertEquals("layer rule {match=x, exclude=yes please}: exclude must be true or false",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.of(ordered("match", "x", "exclude", "yes please"))).getMessage());
    assertEquals("layer rule {match=:input}: the network input is not a node; exclude applies to nodes",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.exclude(":input", List.of())).getMessage());
    assertEquals("unknown method 'best' (maxmin, percentile, mse, entropy)",
        assertThrows(IllegalArgumentException.class, () -> LayerRule.of(ordered("op", "Add", "method", "best"))).getMessage());
  }

  private static Map<String, Object> ordered(Object... kv) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  /**
   * ':input=8;:first=8;:last=8' over W4: the input point, the stem conv (weights, bias, output)
   * and the Gemm (weights, bias, the logits) at 8 bits, everything else at 4; a later rule wins.
   */
  @Test
  @Tag("slow")
  void selectorsAndOrderOnResnetS() {
    Graph g = QuantPlanTest.resnet();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withLayers(LayerRule.parseAll(List.of(":input=8", ":first=8",
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
    QuantConfig two = QuantConfig.defaults().withLayers(LayerRule.parseAll(List.of(".*Conv=6", "/layers/layers\\.0/.*=5,,")));
    for (QuantPlan.ParamPoint p : QuantPlan.of(g, two).params()) {
      int expect = p.node().equals(gemm.name()) ? 8
          : p.node().startsWith("/layers/layers.0/") && p.role() == QuantPlan.Role.WEIGHT ? 5 : 6;
      assertEquals(expect, p.bits(), p.name());
    }
  }

  /** The quantizers take the plan's widths; the file records the rules and reads them back, and has no key without them. */
  @Test
  @Tag("slow")
  void quantizersAndQuantInfo() throws Exception {
    Graph g = QuantPlanTest.resnet();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withBiasBits(8)
        .withLayers(LayerRule.parseAll(List.of(":input=8", ":last=8,8,16")));
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(Map.of(g.inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 20)), stats.observer(plan), false);
    QuantParams params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    for (QuantPlan.ActivationPoint a : plan.activations()) assertEquals(a.bits(), params.activation(a.name()).bits(), a.name());
    for (QuantPlan.ParamPoint p : plan.params()) assertEquals(p.bits(), params.params().get(p.name()).bits(), p.name());
    assertTrue(plan.params().stream().anyMatch(p -> p.bits() == 16));
    String json = QuantInfo.write("m", "sha", cfg, plan, params, stats, g);
    assertTrue(json.contains("\"layers\": ["), json.substring(0, 800));
    QuantInfo.Parsed back = QuantInfo.read(json);
    assertEquals(cfg, back.config());
    assertEquals(params.quantizers(), back.params().quantizers());
    assertEquals(json, QuantInfo.write("m", "sha", back.config(), QuantPlan.of(g, back.config()), back.params(), stats, g));
    QuantConfig plain = QuantConfig.defaults().withBits(4);
    assertFalse(QuantInfo.write("m", "sha", plain, QuantPlan.of(g, plain), QuantParams.decide(g, QuantPlan.of(g, plain),
        stats.histograms(), plain), stats, g).contains("\"layers\": ["));
  }

  static Graph tiny() {
    return TinyNet.residualClassifier();
  }

  private static QuantPlan.ActivationPoint pointOf(QuantPlan plan, String value) {
    String name = plan.pointOf(value);
    return plan.activations().stream().filter(a -> a.name().equals(name)).findFirst().orElseThrow();
  }

  /**
   * Op-type and name rules in order: widths, a method, exclusion (an excluded node loses its
   * weight and bias quantizers, its output point stays) and a later rule quantizing one node again;
   * each setting names the rule that made it.
   */
  @Test
  void rulesByOpAndNameInOrder() {
    Graph g = tiny();
    String addOut = g.nodes().stream().filter(n -> n.opType().equals("Add")).findFirst().orElseThrow().outputs().get(0);
    List<LayerRule> rules = List.of(
        new LayerRule(null, List.of("Conv"), 6, 0, 0, null, null),                 // layers[0]: every conv's weights at 6
        new LayerRule("c2", List.of(), 0, 5, 0, Method.MAXMIN, null),                // layers[1]: c2's output at 5 bits, maxmin
        new LayerRule(null, List.of("Conv", "Add"), 0, 0, 0, null, true),           // layers[2]: convs and adds in float
        new LayerRule("c3", List.of(), 0, 0, 0, null, false));                      // layers[3]: c3 quantized again
    QuantPlan plan = QuantPlan.of(g, QuantConfig.defaults().withLayers(rules));
    Map<String, String> excluded = new java.util.LinkedHashMap<>();
    excluded.put("c1", "layers[2]");
    excluded.put("c2", "layers[2]");
    excluded.put("add", "layers[2]");
    assertEquals(excluded, plan.excluded());
    // only c3 (re-included, weights at 6 by layers[0]) and fc (no rule) keep their quantizers
    assertEquals(List.of("c3.w:6:layers[0]", "c3.b:8:null", "fc.w:8:null", "fc.b:8:null"),
        plan.params().stream().map(p -> p.name() + ":" + p.bits() + ":" + p.rule()).toList());
    QuantPlan.ActivationPoint c2 = pointOf(plan, "r2"); // c2's output (its ReLU fused)
    assertEquals(5, c2.bits());
    assertEquals(Method.MAXMIN, c2.method());
    assertEquals("layers[1]", c2.rule());
    assertEquals("layers[1]", c2.methodRule());
    QuantPlan.ActivationPoint add = pointOf(plan, addOut);
    assertEquals(8, add.bits(), "an excluded node's output is still quantized");
    assertEquals(Method.MSE, add.method());
    assertEquals(null, add.rule());
    assertEquals("layers[1] {match: 'c2', activation_bits: 5, method: maxmin}", plan.describeRule("layers[1]"));
  }

  /** Every rule must select something: the error names each one that does not, with its index. */
  @Test
  void aRuleMatchingNothingIsAnError() {
    Graph g = tiny();
    List<LayerRule> rules = List.of(LayerRule.bits("c1", 4, 0, 0), LayerRule.exclude(null, List.of("Softmax")),
        LayerRule.bits("conv.*", 4, 0, 0));
    GraphException e = assertThrows(GraphException.class, () -> QuantPlan.of(g, QuantConfig.defaults().withLayers(rules)));
    assertEquals("layer rules layers[1] {op: Softmax, exclude: true}, layers[2] {match: 'conv.*', weight_bits: 4} match no"
        + " node of the model (node and output names, op types of the graph with BatchNorm folded and activations fused)",
        e.getMessage());
    e = assertThrows(GraphException.class, () -> QuantPlan.of(g, QuantConfig.defaults().withLayers(List.of(
        LayerRule.exclude(null, List.of("MaxPool"))))));
    assertTrue(e.getMessage().startsWith("layer rule layers[0] {op: MaxPool, exclude: true} matches no node"), e.getMessage());
  }

  /**
   * Calibrated with exclusions: the fake-quant model keeps the excluded layer's float weights
   * and computes it as the float model does; quant_info.json records rules, per-point rules and
   * the excluded nodes, and reads back to the same plan. A rule's method is the point's: maxmin
   * gives the largest fix_point at which the largest |x| does not overflow (by hand below).
   */
  @Test
  void excludedLayersStayFloatAndAreRecorded() {
    Graph g = tiny();
    QuantConfig cfg = QuantConfig.defaults().withLayers(List.of(LayerRule.exclude("fc", List.of()),
        new LayerRule("c3", List.of(), 0, 0, 0, Method.MAXMIN, null)));
    QuantPlan plan = QuantPlan.of(g, cfg);
    Tensor x = random(new java.util.Random(3), 32, 4, 8, 8);
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(Map.of("x", x), stats.observer(plan), false);
    QuantParams params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    QuantizedModel qm = new QuantizedModel(g, plan, params);
    assertTrue(java.util.Arrays.equals(g.initializers().get("fc.w").data(), qm.graph().initializers().get("fc.w").data()),
        "the excluded layer's weights stay float");
    assertFalse(java.util.Arrays.equals(g.initializers().get("c3.w").data(), qm.graph().initializers().get("c3.w").data()));

    // maxmin on c3's output: the largest fp with round(max|x| * 2^fp) <= 127
    float[] c3 = new Executor(g).run(Map.of("x", x), (n, name, v) -> v, true).get("c3").data();
    double amax = 0;
    for (float v : c3) amax = Math.max(amax, Math.abs(v));
    int fp = 30;
    while (Math.floor(amax * Math.pow(2, fp) + 0.5) > 127) fp--;
    assertEquals(fp, params.activation(plan.pointOf("c3")).fixPoint());

    String json = QuantInfo.write("tiny", "sha", cfg, plan, params, stats, g);
    @SuppressWarnings("unchecked")
    Map<String, Object> root = (Map<String, Object>) io.qspark.kernels.io.Json.read(json);
    assertEquals(List.of(Map.of("node", "fc", "rule", "layers[0]")), root.get("excluded_nodes"));
    assertEquals(List.of(Map.of("match", "fc", "exclude", true), Map.of("match", "c3", "method", "maxmin")),
        ((Map<?, ?>) root.get("config")).get("layers"));
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> acts = (List<Map<String, Object>>) root.get("activations");
    Map<String, Object> c3Point = acts.stream().filter(a -> a.get("name").equals(plan.pointOf("c3"))).findFirst().orElseThrow();
    assertEquals("maxmin", c3Point.get("method"));
    assertEquals("layers[1]", c3Point.get("method_rule"));
    assertFalse(c3Point.containsKey("rule"), "no rule set its width");
    assertTrue(((List<?>) root.get("params")).stream().noneMatch(p -> ((Map<?, ?>) p).get("node").equals("fc")));
    QuantInfo.Parsed back = QuantInfo.read(json);
    assertEquals(cfg, back.config());
    assertEquals(json, QuantInfo.write("tiny", "sha", back.config(), QuantPlan.of(g, back.config()), back.params(), stats, g));
  }

  /** quant_info.json files written before general rules hold width rules under layer_bits: still read. */
  @Test
  void layerBitsOfEarlierFilesAreRead() {
    Graph g = tiny();
    QuantConfig cfg = QuantConfig.defaults().withLayers(List.of(LayerRule.parse("c1=6")));
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(Map.of("x", random(new java.util.Random(1), 4, 4, 8, 8)), stats.observer(plan), false);
    String json = QuantInfo.write("tiny", "sha", cfg, plan, QuantParams.decide(g, plan, stats.histograms(), cfg), stats, g);
    String old = json.replace("\"layers\": [", "\"layer_bits\": [");
    assertTrue(old.contains("\"layer_bits\": [\n      {\n        \"match\": \"c1\",\n        \"weight_bits\": 6,"), old);
    assertEquals(cfg, QuantInfo.read(old).config());
  }

  private static Tensor random(java.util.Random rnd, int... shape) {
    float[] v = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
    return Tensor.of(v, shape);
  }
}

package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.LayerRule;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.TinyNet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Nodes a layer rule keeps in float deploy as CPU layers (dequantized inputs, float compute,
 * the output quantized at its point, at any width up to 16 bits when no DPU layer reads it), and
 * the simulator still equals fake-quant bit for bit; without a CPU to run them, and with widths
 * a DPU layer cannot compute, deploy refuses in one line naming the rule.
 */
class ExcludedLayersTest {
  /** {@link TinyNet#residualClassifier}: a residual block (c1, c2, add, r3) and a head (c3, flat, fc). */
  static Graph residual() {
    return TinyNet.residualClassifier();
  }

  record Calibrated(Graph g, QuantConfig cfg, QuantPlan plan, QuantParams params) {
    static Calibrated of(Graph g, List<LayerRule> rules) {
      QuantConfig cfg = QuantConfig.defaults().withLayers(rules);
      QuantPlan plan = QuantPlan.of(g, cfg);
      ActivationStats stats = new ActivationStats();
      new Executor(g).run(Map.of("x", random(new Random(7), 64, 4, 8, 8)), stats.observer(plan), false);
      return new Calibrated(g, cfg, plan, QuantParams.decide(g, plan, stats.histograms(), cfg));
    }

    DeployModel deploy(DpuTarget target) {
      Partition p = target == null ? null : DeployCompiler.partition(g, cfg, target);
      return DeployFormat.parse(DeployCompiler.compile(g, cfg, params, "", p).toByteArray(), "test");
    }

    /** Output integers where the simulator and the fake-quant model differ. */
    int mismatches(DeployModel dm, Tensor test) {
      QuantizedModel qm = new QuantizedModel(g, plan, params);
      FixPoint q = params.activation(plan.pointOf("fc"));
      float[] fq = qm.run(qm.executor(2), Map.of("x", test)).get("fc").data();
      Simulator.Output o = new Simulator(dm).run(test);
      assertEquals(q.fixPoint(), o.fixPoint());
      int differing = 0;
      for (int i = 0; i < fq.length; i++) if (q.quantize(fq[i]) != o.ints()[i]) differing++;
      return differing;
    }
  }

  @Test
  void excludedAddAndSixteenBitFcRunOnTheCpuBitExactly() {
    Calibrated c = Calibrated.of(residual(), List.of(LayerRule.exclude(null, List.of("Add")),
        new LayerRule("fc", List.of(), 0, 16, 0, null, true)));
    Partition p = DeployCompiler.partition(c.g(), c.cfg(), DpuTarget.bundled("b4096"));
    assertFalse(p.onDpu("add"));
    assertEquals("CPU: kept in float by layer rule layers[0] {op: Add, exclude: true}", p.reason("add"));
    assertEquals("CPU: kept in float by layer rule layers[1] {match: 'fc', activation_bits: 16, exclude: true}", p.reason("fc"));
    assertTrue(p.onDpu("c1") && p.onDpu("c2") && p.onDpu("c3"));

    DeployModel dm = c.deploy(DpuTarget.bundled("b4096"));
    List<String> cpu = dm.getLayersList().stream().filter(l -> l.getOp() == Op.CPU).map(Layer::getName).toList();
    // the Flatten feeding the CPU fc goes with it (a reshape stays on the DPU only between DPU ops)
    assertEquals(List.of("add", "r3", "flat", "fc"), cpu);
    var out = dm.getValuesList().stream().filter(v -> v.getName().equals("fc")).findFirst().orElseThrow();
    assertTrue(out.getInteger());
    assertEquals(16, out.getBits());
    assertEquals(0, c.mismatches(dm, random(new Random(8), 200, 4, 8, 8)));
  }

  @Test
  void withoutTargetExcludedNodesHaveNoCpu() {
    Calibrated c = Calibrated.of(residual(), List.of(LayerRule.exclude("c.*", List.of("Conv"))));
    DeployException e = assertThrows(DeployException.class, () -> c.deploy(null));
    assertFalse(e.getMessage().contains("\n"));
    assertEquals("cannot deploy: layer rule layers[0] {match: 'c.*', op: Conv, exclude: true} keeps 3 nodes in float"
        + " (c1, c2, c3), but without --target every layer runs on the DPU, which has no CPU fallback (deploy with"
        + " --target to run them on the CPU)", e.getMessage());
  }

  @Test
  void widthsBeyondTheTargetOnDpuLayersAreRefusedNamingTheRule() {
    Calibrated c = Calibrated.of(residual(), List.of(LayerRule.bits("fc", 0, 16, 0), LayerRule.bits("c2", 12, 0, 0)));
    String msg = assertThrows(DeployException.class, () -> c.deploy(DpuTarget.bundled("b4096"))).getMessage();
    assertFalse(msg.contains("\n"));
    assertTrue(msg.contains("node c2 (Conv): weight is 12-bit (set by layer rule layers[1] {match: 'c2', weight_bits: 12}),"
        + " target b4096 computes at most 8 bits"), msg);
    assertTrue(msg.contains("activation 'fc' is 16-bit (set by layer rule layers[0] {match: 'fc', activation_bits: 16}),"
        + " target b4096 computes at most 8 bits (DPU layer fc); layers kept in float (a layer rule with exclude: true) run"
        + " on the CPU at any width up to 16 bits"), msg);
  }

  /**
   * A target whose datapath computes 16-bit activations (as the b4096 file but for bit_widths):
   * the fc at 16-bit activations then runs on it, bit-exactly; weights stay bytes in the deploy
   * model whatever the target computes.
   */
  @Test
  void aSixteenBitTargetRunsSixteenBitActivationsOnItsLayers() throws Exception {
    String yaml;
    try (var in = DpuTarget.class.getClassLoader().getResourceAsStream("conf/targets/b4096.yaml")) {
      yaml = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
          .replace("bit_widths: [8, 6]", "bit_widths: [16, 8]").replace("name: b4096", "name: a16w8");
    }
    DpuTarget a16 = DpuTarget.parse(yaml, "a16w8.yaml");
    Calibrated c = Calibrated.of(residual(), List.of(LayerRule.bits("fc", 0, 16, 0)));
    DeployModel dm = c.deploy(a16);
    assertTrue(dm.getLayersList().stream().noneMatch(l -> l.getOp() == Op.CPU));
    Layer fc = dm.getLayersList().stream().filter(l -> l.getName().equals("fc")).findFirst().orElseThrow();
    assertEquals(Op.FC, fc.getOp());
    assertEquals(16, dm.getValuesList().stream().filter(v -> v.getName().equals("fc")).findFirst().orElseThrow().getBits());
    assertEquals(0, c.mismatches(dm, random(new Random(9), 200, 4, 8, 8)));

    Calibrated wide = Calibrated.of(residual(), List.of(LayerRule.bits("c3", 12, 0, 0)));
    String msg = assertThrows(DeployException.class, () -> wide.deploy(a16)).getMessage();
    assertEquals("cannot deploy: node c3 (Conv): weight is 12-bit (set by layer rule layers[0] {match: 'c3', weight_bits: 12}),"
        + " the deploy model holds weights of at most 8 bits (one byte each)", msg);
  }

  static Tensor random(Random rnd, int... shape) {
    float[] v = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
    return Tensor.of(v, shape);
  }
}

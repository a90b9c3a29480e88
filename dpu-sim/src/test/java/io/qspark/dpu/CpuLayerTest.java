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
import io.qspark.kernels.passes.InferencePasses;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.target.Partitioner;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.TinyNet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Nodes the b4096 target puts on the CPU (a Softmax between convs, a grouped conv) deploy as
 * float CPU layers between DPU layers, and the simulator still equals fake-quant bit for bit.
 */
class CpuLayerTest {
  @Test
  void softmaxAndGroupedConvRunOnTheCpuBitExactly() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String c1 = t.conv("c1", "x", 4, 8, 3, 1, 1, 1);
    String sm = t.op("sm", "Softmax", TinyNet.attrs("axis", 1L), t.op("r1", "Relu", c1));
    String g2 = t.conv("grouped", sm, 8, 8, 3, 1, 1, 2);
    String c3 = t.conv("c3", g2, 8, 8, 1, 1, 0, 1);
    String fc = t.gemm("fc", t.op("flat", "Flatten", c3), 8 * 64, 10);
    Graph g = InferencePasses.apply(t.graph(fc));
    Partition p = Partitioner.partition(g, DpuTarget.bundled("b4096"));
    List<String> onCpu = p.placements().stream().filter(x -> !x.dpu()).map(Partition.Placement::name).collect(Collectors.toList());
    assertTrue(onCpu.contains("sm") && onCpu.contains("grouped"), "the target's CPU nodes: " + onCpu);

    Random rnd = new Random(4);
    Fixture f = new Fixture(g, random(rnd, 64, 4, 8, 8));
    DeployModel dm = DeployFormat.parse(DeployCompiler.compile(g, f.cfg, f.params, "", p).toByteArray(), "test");
    List<String> cpu = dm.getLayersList().stream().filter(l -> l.getOp() == Op.CPU).map(Layer::getName).collect(Collectors.toList());
    assertEquals(onCpu, cpu);
    String summary = DeploySummary.text(dm);
    assertTrue(summary.lines().anyMatch(l -> l.startsWith("sm ") && l.contains(" CPU ")), summary);

    Tensor test = random(rnd, 200, 4, 8, 8);
    assertEquals(0, f.mismatches(dm, test));
  }

  @Test
  void withoutTargetTheCpuOpsAreRefusedAndUnsupportedDpuOpsAlwaysAre() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String c1 = t.conv("c1", "x", 4, 8, 3, 1, 1, 1);
    String sm = t.op("sm", "Softmax", TinyNet.attrs("axis", 1L), c1);
    String c2 = t.conv("c2", sm, 8, 8, 3, 1, 1, 1);
    String sum = t.op("sum", "Sum", c1, c2); // the b4096 runs a two-input Sum as an eltwise add; the deploy model takes Add only
    String c3 = t.conv("c3", sum, 8, 8, 1, 1, 0, 1);
    String sum2 = t.op("sum2", "Sum", c3, c2);
    Graph g = InferencePasses.apply(t.graph(sum2));
    Fixture f = new Fixture(g, random(new Random(5), 16, 4, 8, 8));

    String plain = assertThrows(DeployException.class, () -> DeployCompiler.compile(g, f.cfg, f.params, "")).getMessage();
    assertFalse(plain.contains("\n"), plain);
    assertTrue(plain.contains("no DPU op for Softmax (deploy with --target to run it on the CPU)"), plain);

    Partition p = Partitioner.partition(g, DpuTarget.bundled("b4096"));
    String targeted = assertThrows(DeployException.class, () -> DeployCompiler.compile(g, f.cfg, f.params, "", p)).getMessage();
    assertFalse(targeted.contains("\n"), targeted);
    assertFalse(targeted.contains("Softmax"), targeted);
    assertTrue(targeted.contains("sum (Sum)") && targeted.contains("sum2 (Sum)") && targeted.contains("no DPU op for Sum"), targeted);
  }

  /** A calibration of a graph on the given images, and its fake-quant model. */
  private static final class Fixture {
    final QuantConfig cfg = QuantConfig.defaults();
    final Graph g;
    final QuantPlan plan;
    final QuantParams params;

    Fixture(Graph g, Tensor calib) {
      this.g = g;
      plan = QuantPlan.of(g, cfg);
      ActivationStats stats = new ActivationStats();
      new Executor(g).run(Map.of(g.inputs().get(0).name(), calib), stats.observer(plan), false);
      params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    }

    int mismatches(DeployModel dm, Tensor test) {
      QuantizedModel qm = new QuantizedModel(g, plan, params);
      String out = g.outputs().get(0);
      FixPoint q = params.activation(plan.pointOf(out));
      float[] fq = qm.run(qm.executor(2), Map.of(g.inputs().get(0).name(), test)).get(out).data();
      int[] sim = new Simulator(dm).run(test).ints();
      assertEquals(fq.length, sim.length);
      int differing = 0;
      for (int i = 0; i < fq.length; i++) if (q.quantize(fq[i]) != sim[i]) differing++;
      return differing;
    }
  }

  private static Tensor random(Random rnd, int... shape) {
    float[] v = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
    return Tensor.of(v, shape);
  }
}

package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.passes.InferencePasses;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Gaussian;
import io.qspark.kernels.testing.ConverterModels;
import io.qspark.kernels.testing.TinyNet;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deploy-model features the realworld models need, each on a small graph: eltwise multiply on
 * the DPU, a CPU node with several outputs (Split), a CPU division by zero (NaN, which both
 * sides quantize to 0), and a fixed-batch model run in chunks. Each simulates with no output
 * integer differing from fake-quant.
 */
class DeployShapesTest {
  @TempDir Path dir;

  @Test
  void eltwiseMulRunsOnTheDpu() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String a = t.conv("a", "x", 4, 8, 3, 1, 1, 1);
    String b = t.conv("b", "x", 4, 8, 1, 1, 0, 1);
    String mul = t.op("mul", "Mul", a, b);
    MultiOutputDeployTest.Result r = deploy(InferencePasses.apply(t.graph(t.conv("c", mul, 8, 4, 3, 1, 1, 1))));
    assertEquals(Op.ELTWISE_MUL, layer(r.model(), "mul").getOp());
    assertEquals(0, r.differing(), r.toString());
  }

  @Test
  void splitIsOneCpuLayerWithTwoOutputs() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String a = t.conv("a", "x", 4, 8, 3, 1, 1, 1);
    String[] parts = t.ops("split", "Split", TinyNet.attrs("axis", 1L, "split", new long[] {3, 5}), 2, a);
    String p = t.conv("p", parts[0], 3, 4, 3, 1, 1, 1);
    String q = t.conv("q", parts[1], 5, 4, 1, 1, 0, 1);
    MultiOutputDeployTest.Result r = deploy(InferencePasses.apply(t.graph(t.op("cat", "Concat", TinyNet.attrs("axis", 1L), p, q))));
    Layer l = layer(r.model(), "split");
    assertEquals(Op.CPU, l.getOp());
    assertEquals("split:0", l.getOutput());
    assertEquals(java.util.List.of("split:1"), l.getExtraOutputsList());
    assertTrue(DeploySummary.text(r.model()).contains("also writes split:1"), DeploySummary.text(r.model()));
    assertEquals(0, r.differing(), r.toString());
  }

  @Test
  void notANumberOnTheCpuIsZeroOnBothSides() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String a = t.op("ra", "Relu", t.conv("a", "x", 4, 8, 3, 1, 1, 1));
    // a / (a·1e-4 + 1e-9) is finite in float; quantized, the divisor's 1e-9 is 0 and 0/0 is NaN
    String scaled = t.op("scaled", "Mul", a, t.constant("small", Tensor.scalar(1e-4f)));
    String divisor = t.op("divisor", "Add", scaled, t.constant("eps", Tensor.scalar(1e-9f)));
    String div = t.op("div", "Div", a, divisor);
    Graph g = InferencePasses.apply(t.graph(t.conv("c", div, 8, 4, 3, 1, 1, 1)));
    MultiOutputDeployTest.Result r = deploy(g);
    assertEquals(Op.CPU, layer(r.model(), "div").getOp());
    assertEquals(0, r.differing(), r.toString());
    // the case is real: fake-quant's division made NaNs, which its quantization point made 0
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    Random rnd = new Random(2);
    new Executor(g).run(Map.of("x", Gaussian.tensor(rnd, 16, 4, 8, 8)), stats.observer(plan), false);
    QuantizedModel qm = new QuantizedModel(g, plan, QuantParams.decide(g, plan, stats.histograms(), cfg));
    int[] nan = new int[2];
    TensorObserver fq = qm.fakeQuant();
    qm.executor(1).run(Map.of("x", Gaussian.tensor(rnd, 10, 4, 8, 8)), (node, name, v) -> {
      if (!name.equals("div")) return fq.onValue(node, name, v);
      for (float f : v.data()) if (Float.isNaN(f)) nan[0]++;
      Tensor q = fq.onValue(node, name, v);
      for (float f : q.data()) if (Float.isNaN(f)) nan[1]++;
      return q;
    });
    assertTrue(nan[0] > 0, "no NaN in the quantized model's division");
    assertEquals(0, nan[1]);
  }

  @Test
  void batchMixingModelRunsInChunks() throws Exception {
    Model m = Model.load(ConverterModels.batchMixing(dir.resolve("mixing.onnx"))).forInference();
    MultiOutputDeployTest.Result r = deploy(m.graph());
    assertEquals(2, r.model().getBatchChunk());
    assertTrue(DeploySummary.text(r.model()).contains("runs in chunks of 2 images"), DeploySummary.text(r.model()));
    assertEquals(0, r.differing(), r.toString());
    DeployException e = assertThrows(DeployException.class,
        () -> new Simulator(r.model()).run(Map.of("x", Gaussian.tensor(new Random(5), 5, 4, 8, 8))));
    assertTrue(e.getMessage().contains("multiples of 2, not 5"), e.getMessage());
  }

  /** Calibrated on 16 random images, deployed for the B4096, compared on 10 others. */
  private static MultiOutputDeployTest.Result deploy(Graph g) {
    Random rnd = new Random(2);
    return MultiOutputDeployTest.deployAndCompare(g, Map.of("x", Gaussian.tensor(rnd, 16, 4, 8, 8)), Map.of("x", Gaussian.tensor(rnd, 10, 4, 8, 8)));
  }

  private static Layer layer(DeployModel m, String name) {
    return m.getLayersList().stream().filter(x -> x.getName().equals(name)).findFirst().orElseThrow();
  }
}

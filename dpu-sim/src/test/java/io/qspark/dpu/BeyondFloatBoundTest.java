package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.ExactConv;
import io.qspark.kernels.quant.AccumulatorBound;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.TinyNet;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Layers whose accumulator bound reaches 2^24 (where one float sum may round) deploy, and the
 * simulator's integers still equal fake-quant's: both sum those layers exactly in chunks.
 */
class BeyondFloatBoundTest {
  @Test
  void largeReductionConvAndFcAreExactOnBothSides() {
    TinyNet t = new TinyNet(-1, 512, 6, 6);
    String c1 = t.conv("big", "x", 512, 16, 3, 1, 1, 1);
    String r = t.op("relu", "Relu", c1);
    String f = t.op("flat", "Flatten", r);
    String fc = t.gemm("fc", f, 16 * 36, 10);
    Graph g = t.graph(fc);
    Random rnd = new Random(1);
    Tensor calib = random(rnd, 16, 512, 6, 6);
    Tensor test = random(rnd, 8, 512, 6, 6);
    int mismatches = deployAndCompare(g, calib, test, 1);
    assertEquals(0, mismatches);
  }

  @Tag("slow")
  @Test
  void resnet18DeploysAndSimulatesBitExactly() throws Exception {
    Model m = Model.load(Shared.model("imagenet/resnet18.onnx")).forInference();
    Random rnd = new Random(2);
    // random 224x224 inputs; four to calibrate, four to compare
    assertEquals(0, deployAndCompare(m.graph(), random(rnd, 4, 3, 224, 224), random(rnd, 4, 3, 224, 224), 1));
  }

  /** The other two ImageNet-size models deploy and simulate too (issue 9: all three must). */
  @Tag("slow")
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"mobilenet_v2", "googlenet"})
  void otherImagenetModelsDeployAndSimulateBitExactly(String name) throws Exception {
    Model m = Model.load(Shared.model("imagenet/" + name + ".onnx")).forInference();
    Random rnd = new Random(3);
    assertEquals(0, deployAndCompare(m.graph(), random(rnd, 2, 3, 224, 224), random(rnd, 2, 3, 224, 224), 0));
  }

  /**
   * Calibrates on {@code calib}, deploys, checks that at least {@code beyond} layers exceed the
   * float bound (so the exact path is what is tested), and counts output integers of
   * simulator and fake-quant that differ on {@code test}.
   */
  private static int deployAndCompare(Graph g, Tensor calib, Tensor test, int beyond) {
    String in = g.inputs().get(0).name();
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(g, 2).run(Map.of(in, calib), stats.observer(plan), false);
    QuantParams params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    DeployModel dm = DeployFormat.parse(DeployCompiler.compile(g, cfg, params, "").toByteArray(), "test");
    long large = dm.getLayersList().stream().filter(l -> l.getAccumulatorBound() >= AccumulatorBound.FLOAT_EXACT).count();
    assertTrue(large >= beyond, large + " layers beyond the float bound");
    QuantizedModel qm = new QuantizedModel(g, plan, params);
    long marked = qm.graph().nodes().stream().filter(n -> n.attributes().getInt(ExactConv.CHUNK, 0) > 0).count();
    assertEquals(large, marked, "fake-quant sums exactly the layers the compiler found beyond the bound");
    String outName = g.outputs().get(0);
    FixPoint outQ = params.activation(plan.pointOf(outName));
    float[] fq = qm.run(qm.executor(2), Map.of(in, test)).get(outName).data();
    Simulator.Output o = new Simulator(dm).run(test);
    assertEquals(fq.length, o.ints().length);
    int differing = 0;
    for (int i = 0; i < fq.length; i++) if (outQ.quantize(fq[i]) != o.ints()[i]) differing++;
    return differing;
  }

  private static Tensor random(Random rnd, int... shape) {
    float[] v = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
    return Tensor.of(v, shape);
  }
}

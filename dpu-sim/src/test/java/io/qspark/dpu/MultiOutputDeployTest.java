package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
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
import io.qspark.kernels.testing.Gaussian;
import io.qspark.kernels.testing.ConverterModels;
import io.qspark.kernels.testing.RealWorld;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Detectors, segmenters, multi-input and fixed-batch models, and converter-shaped ones,
 * calibrated in one JVM as the calibrate job does it, deployed for the B4096 (what it cannot run
 * as CPU layers: SiLU, HardSwish, Sigmoid heads, Resize, Split, the LayerNorm block), and
 * simulated: every output's integers equal the fake-quant model's, none differing.
 */
@Tag("slow")
class MultiOutputDeployTest {
  static final List<String> MODELS = RealWorld.MODELS;
  static final DpuTarget B4096 = DpuTarget.bundled("b4096");

  @TempDir Path dir;

  @ParameterizedTest
  @FieldSource("MODELS")
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void realWorldModelsSimulateBitExactlyOnEveryOutput(String file) throws Exception {
    Model m = Model.load(RealWorld.model(file)).forInference();
    Map<String, Tensor> calib = RealWorld.inputs(m, "train-images-idx3-ubyte.gz", 0, 8);
    Map<String, Tensor> test = RealWorld.inputs(m, "t10k-images-idx3-ubyte.gz", 0, 5);
    Result r = deployAndCompare(m.graph(), calib, test);
    System.out.println(file + ": " + r);
    assertEquals(0, r.differing(), file + ": " + r);
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void dynamicSizeDetectorSimulatesBitExactly() throws Exception {
    Model m = Model.load(ConverterModels.dynamicDetector(dir.resolve("detector.onnx")))
        .withInputShapes(Map.of("images", new int[] {3, 32, 48})).forInference();
    Random rnd = new Random(7);
    Result r = deployAndCompare(m.graph(), Map.of("images", Gaussian.tensor(rnd, 8, 3, 32, 48)), Map.of("images", Gaussian.tensor(rnd, 5, 3, 32, 48)));
    System.out.println("detector: " + r);
    assertTrue(r.cpuOps().contains("Split") && r.cpuOps().contains("Resize") && r.cpuOps().contains("Silu"), r.cpuOps().toString());
    assertEquals(0, r.differing(), r.toString());
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void layerNormBlockRunsOnTheCpuBitExactly() throws Exception {
    Model m = Model.load(ConverterModels.layerNormBlocks(dir.resolve("layernorm.onnx"))).forInference();
    Random rnd = new Random(8);
    Result r = deployAndCompare(m.graph(), Map.of("input", Gaussian.tensor(rnd, 8, 3, 16, 16)), Map.of("input", Gaussian.tensor(rnd, 5, 3, 16, 16)));
    System.out.println("layernorm: " + r);
    assertTrue(r.cpuOps().containsAll(List.of("ReduceMean", "Pow", "Sqrt", "Div", "MatMul", "Softmax")), r.cpuOps().toString());
    assertEquals(0, r.differing(), r.toString());
  }

  /** How a deployed model compares with fake-quant: output integers differing, of how many; the CPU layers' ops. */
  record Result(long differing, long compared, List<String> cpuOps, int layers, DeployModel model) {
    @Override
    public String toString() {
      return differing + " of " + compared + " output integers differ; " + layers + " layers, CPU layers of " + cpuOps;
    }
  }

  static Result deployAndCompare(Graph g, Map<String, Tensor> calib, Map<String, Tensor> test) {
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(calib, stats.observer(plan), false);
    QuantParams params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    Partition partition = Partitioner.partition(g, B4096);
    DeployModel dm = DeployFormat.parse(DeployCompiler.compile(g, cfg, params, "", partition).toByteArray(), "test");
    QuantizedModel qm = new QuantizedModel(g, plan, params);
    Map<String, Tensor> fq = qm.run(qm.executor(2), test);
    Map<String, Simulator.Output> sim = new Simulator(dm).run(test);
    assertEquals(g.outputs(), List.copyOf(sim.keySet()), "simulated outputs");
    long differing = 0, compared = 0;
    for (String o : g.outputs()) {
      FixPoint q = params.activation(plan.pointOf(o));
      Simulator.Output s = sim.get(o);
      float[] f = fq.get(o).data();
      assertArrayEquals(fq.get(o).shape(), s.shape(), o);
      assertEquals(q.fixPoint(), s.fixPoint(), o);
      for (int i = 0; i < f.length; i++) if (q.quantize(f[i]) != s.ints()[i]) differing++;
      compared += f.length;
    }
    List<String> cpu = dm.getLayersList().stream().filter(l -> l.getOp() == Op.CPU).map(DeploySummary::cpuOps)
        .distinct().sorted().collect(Collectors.toList());
    return new Result(differing, compared, cpu, dm.getLayersCount(), dm);
  }
}

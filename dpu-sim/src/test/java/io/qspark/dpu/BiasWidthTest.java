package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partitioner;
import io.qspark.kernels.testing.Shared;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Biases at their own width: the deploy model holds integers of that width and records it,
 * the reader refuses biases outside it, and deploy checks it against the target's bias limit.
 */
@Tag("slow")
class BiasWidthTest {
  private static Model model() throws Exception {
    return Model.load(Shared.model("resnet_s.onnx")).forInference();
  }

  private static QuantParams calibrate(Model m, QuantConfig cfg) throws Exception {
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 50)),
        stats.observer(plan), false);
    return QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
  }

  @Test
  void fourBitWeightsWithEightBitBiases() throws Exception {
    Model m = model();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withBiasBits(8);
    QuantParams params = calibrate(m, cfg);
    DeployModel dm = DeployFormat.parse(DeployCompiler.compile(m.graph(), cfg, params, m.sha256()).toByteArray(), "test");
    int withBias = 0;
    for (Layer l : dm.getLayersList()) {
      if (!l.getHasBias()) continue;
      withBias++;
      assertEquals(8, l.getBiasBits(), l.getName());
      FixPoint b = params.params().get(m.graph().nodes().stream().filter(n -> n.name().equals(l.getName())).findFirst()
          .orElseThrow().input(2));
      assertEquals(8, b.bits());
      assertEquals(b.fixPoint(), l.getBiasFixPoint());
      for (int q : l.getBiasList()) assertTrue(q >= -128 && q <= 127, l.getName() + " bias " + q);
      // 4-bit weights, in int8 bytes
      for (byte w : l.getWeights().toByteArray()) assertTrue(w >= -8 && w <= 7, l.getName() + " weight " + w);
    }
    assertTrue(withBias > 10, "resnet_s's folded convs have biases");
    assertTrue(DeploySummary.text(dm).contains(", 8-bit bias"));
  }

  @Test
  void biasWiderThanTheTargetsIsRefused() throws Exception {
    Model m = model();
    QuantConfig cfg = QuantConfig.defaults().withBiasBits(16);
    QuantParams params = calibrate(m, cfg);
    DeployException plain = assertThrows(DeployException.class, () -> DeployCompiler.compile(m.graph(), cfg, params, "x"));
    assertTrue(plain.getMessage().contains("bias is 16-bit, the DPU adds biases of at most 8 bits"), plain.getMessage());
    DeployException b4096 = assertThrows(DeployException.class, () -> DeployCompiler.compile(m.graph(), cfg, params, "x",
        Partitioner.partition(m.graph(), DpuTarget.resolve("b4096"))));
    assertTrue(b4096.getMessage().contains("bias is 16-bit, target b4096 adds biases of at most 8 bits"), b4096.getMessage());
    // a target whose accumulator takes 16-bit biases deploys them
    DpuTarget wide = DpuTarget.parse(new String(DpuTarget.class.getClassLoader()
        .getResourceAsStream("conf/targets/generic-int8.yaml").readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
        .replace("bias_bits: 8", "bias_bits: 16"), "wide.yaml");
    DeployModel dm = DeployCompiler.compile(m.graph(), cfg, params, "x", Partitioner.partition(m.graph(), wide));
    assertTrue(dm.getLayersList().stream().filter(Layer::getHasBias).allMatch(l -> l.getBiasBits() == 16));
  }

  @Test
  void readerRefusesBiasOutsideItsWidth() throws Exception {
    Model m = model();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withBiasBits(8);
    DeployModel dm = DeployCompiler.compile(m.graph(), cfg, calibrate(m, cfg), "x");
    int i = 0;
    while (!dm.getLayers(i).getHasBias()) i++;
    // resealed, so the range check speaks rather than the content digest
    DeployModel bad = DeployFormat.seal(dm.toBuilder().setLayers(i, dm.getLayers(i).toBuilder().setBias(0, 128)).build());
    DeployException e = assertThrows(DeployException.class, () -> DeployFormat.parse(bad.toByteArray(), "bad.pb"));
    assertEquals("bad.pb is a corrupt deploy model: layer '" + dm.getLayers(i).getName() + "' has bias 128 outside its 8 bits",
        e.getMessage());
    // a file from before the width was recorded (0, and no content digest then) is read as it was
    DeployModel old = dm.toBuilder().setLayers(i, dm.getLayers(i).toBuilder().setBiasBits(0)).clearContentSha256().build();
    DeployFormat.parse(old.toByteArray(), "old.pb");
  }
}

package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** quant_info.json gives back every quantizer it was written from, for every target. */
class QuantInfoTest {
  @Tag("slow")
  @ParameterizedTest
  @CsvSource({"resnet_s.onnx,per-tensor,power-of-two", "resnet_s.onnx,per-channel,float", "mbv2_s.onnx,per-channel,power-of-two",
      "mbv2_s.onnx,per-tensor,float"})
  void roundTrip(String file, String granularity, String scales) throws Exception {
    Model m = Model.load(Shared.model(file)).forInference();
    QuantConfig cfg = QuantConfig.defaults().withTarget(Granularity.parse(granularity), ScaleKind.parse(scales));
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 50)),
        stats.observer(plan), false);
    QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
    String json = QuantInfo.write("m", "sha", cfg, plan, params, stats, m.graph());
    QuantInfo.Parsed back = QuantInfo.read(json);
    assertEquals(cfg, back.config());
    assertEquals(params.activations(), back.params().activations());
    assertEquals(params.quantizers(), back.params().quantizers());
    assertEquals(json, QuantInfo.write("m", "sha", back.config(), plan, back.params(), stats, m.graph()));
    boolean perChannel = granularity.equals("per-channel");
    for (QuantPlan.ParamPoint p : plan.params()) {
      ParamQuant q = params.quantizers().get(p.name());
      // per-channel: each weight (and, with float scales, bias) has one quantizer per output channel
      if (p.role() == QuantPlan.Role.WEIGHT || scales.equals("float")) assertEquals(perChannel, q.perChannel(), p.name());
      if (scales.equals("float") && p.role() == QuantPlan.Role.BIAS) assertEquals(32, q.bits());
      assertEquals(scales.equals("power-of-two"), q.powerOfTwo(), p.name());
    }
  }

  /**
   * Biases at their own width: every bias quantizer has it, with the no-overflow fix_point of
   * its values at that width (-128.5 * 2^-fp <= b <= 127.5 * 2^-fp, not so at fp + 1 unless fp
   * is at Vitis' cap of 12), unless the shift range moved it; the width survives the file.
   */
  @Test
  @Tag("slow") // reads ../shared
  void biasBitsApartFromWeightBits() throws Exception {
    Model m = Model.load(Shared.model("resnet_s.onnx")).forInference();
    QuantConfig cfg = QuantConfig.defaults().withBits(4).withBiasBits(8);
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 20)),
        stats.observer(plan), false);
    QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
    Map<String, FixPoint> own = QuantParams.params(m.graph(), plan, cfg);
    int biases = 0, unmoved = 0;
    for (QuantPlan.ParamPoint p : plan.params()) {
      FixPoint q = params.params().get(p.name());
      if (p.role() == QuantPlan.Role.WEIGHT) {
        assertEquals(4, q.bits(), p.name());
        continue;
      }
      biases++;
      assertEquals(8, q.bits(), p.name());
      float[] b = m.graph().initializers().get(p.name()).data();
      FixPoint o = own.get(p.name());
      assertTrue(fits(b, o.fixPoint()) && (o.fixPoint() == 12 || !fits(b, o.fixPoint() + 1)), p.name() + " " + o);
      if (q.equals(o)) unmoved++;
    }
    assertTrue(biases > 10 && unmoved > biases / 2, unmoved + " of " + biases);
    String json = QuantInfo.write("m", "sha", cfg, plan, params, stats, m.graph());
    assertTrue(json.contains("\"bias_bits\": 8"), json.substring(0, 400));
    assertEquals(cfg, QuantInfo.read(json).config());
  }

  private static boolean fits(float[] b, int fp) {
    for (float v : b) if (v < -128.5 * Math.scalb(1.0, -fp) || v > 127.5 * Math.scalb(1.0, -fp)) return false;
    return true;
  }

  /** Files from before the options read as DPU calibrations. */
  @Tag("slow")
  @Test
  void oldFilesReadAsPerTensorPowerOfTwo() throws Exception {
    Model m = Model.load(Shared.model("resnet_s.onnx")).forInference();
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 20)),
        stats.observer(plan), false);
    String json = QuantInfo.write("m", "sha", cfg, plan, QuantParams.decide(m.graph(), plan, stats.histograms(), cfg), stats, m.graph());
    String old = json.replaceAll(",\\n\\s*\"weight_granularity\": \"per-tensor\",\\n\\s*\"scales\": \"power-of-two\"", "");
    assertFalse(old.contains("weight_granularity"));
    QuantInfo.Parsed p = QuantInfo.read(old);
    assertEquals(cfg, p.config());
    assertTrue(p.config().dpuStyle());
  }

  /** The channel axis follows the weight's layout: Gemm's B is [N, K] with transB, else [K, N]. */
  @Test
  void perChannelSlicesFollowTheAxis() {
    Node gemm = new Node("fc", "Gemm", java.util.List.of("x", "w"), java.util.List.of("y"),
        io.qspark.kernels.graph.Attributes.empty());
    assertEquals(1, ParamQuant.channelAxis(gemm, 2));
    assertEquals(0, ParamQuant.channelAxis(new Node("fc", "Gemm", java.util.List.of("x", "w"), java.util.List.of("y"),
        io.qspark.kernels.graph.Attributes.empty().with("transB", 1L)), 2));
    // [K=2, N=3]: column c is channel c, with steps 1, 0.5 and 0.25
    Tensor w = Tensor.of(new float[] {1.2f, 1.2f, 1.2f, -0.7f, -0.7f, -0.7f}, 2, 3);
    ParamQuant q = new ParamQuant(1, java.util.List.of(new FixPoint(8, 0, Rounding.HALF_EVEN), new FixPoint(8, 1, Rounding.HALF_EVEN),
        new FixPoint(8, 2, Rounding.HALF_EVEN)));
    assertEquals(java.util.Arrays.toString(new float[] {1f, 1f, 1.25f, -1f, -0.5f, -0.75f}), java.util.Arrays.toString(q.fake(w).data()));
    assertEquals(java.util.Arrays.toString(new int[] {1, 2, 5, -1, -1, -3}), java.util.Arrays.toString(q.quantize(w)));
    float[][] split = ParamQuant.split(w, 1);
    assertEquals(3, split.length);
    assertEquals(java.util.Arrays.toString(new float[] {1.2f, -0.7f}), java.util.Arrays.toString(split[2]));
  }
}

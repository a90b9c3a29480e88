package io.qspark.kernels.caffe;

import io.qspark.kernels.tensor.ArgMax;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.PrecisionParameter;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CHaiDNN prototxt of the shared Caffe resnet_s in both modes: golden text, structure checked
 * by parsing it back, and a fake-quant run driven only by its precision parameters.
 */
@Tag("slow")
class ChaiDnnTest {
  static final Path GOLDEN = Path.of("src/test/resources/chaidnn");
  static CaffeImporter.Imported imp;
  static Model model;
  static Tensor test;
  static int[] labels;
  static final int TOP1_IMAGES = 2_000;

  @BeforeAll
  static void load() throws Exception {
    Path p = Shared.model("caffe/resnet_s.prototxt");
    imp = CaffeImporter.load(p, CaffeImporter.weightsBeside(p));
    model = Model.prepare(imp.graph(), p.toString(), "", "caffe").forInference();
    test = Shared.testImages(TOP1_IMAGES);
    labels = Shared.testLabels(TOP1_IMAGES);
  }

  /** One calibration on 256 training images, as xportdnn does it (minus Spark). */
  record Calibrated(ChaiDnn chai, QuantPlan plan, QuantParams params, ActivationStats stats, QuantConfig cfg) {}

  static final Map<String, Calibrated> CALIBRATED = new java.util.HashMap<>();

  /** Calibration depends on the bit widths and method only (not the mode), so tests share it. */
  static synchronized Calibrated calibrate(ChaiDnn.Settings s, Method method) throws Exception {
    String key = java.util.Arrays.toString(s.bits()) + method;
    if (!CALIBRATED.containsKey(key)) CALIBRATED.put(key, calibrateNow(s, method));
    return CALIBRATED.get(key);
  }

  static Calibrated calibrateNow(ChaiDnn.Settings s, Method method) throws Exception {
    QuantConfig cfg = s.config(method);
    Graph g = model.graph();
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", 256);
    new Executor(g).run(Map.of(g.inputs().get(0).name(), x), stats.observer(plan), false);
    stats.addImages(256);
    QuantParams params = QuantParams.decide(g, plan, stats.histograms(), cfg);
    return new Calibrated(new ChaiDnn(imp, g, plan), plan, params, stats, cfg);
  }

  static NetParameter emit(Calibrated c, ChaiDnn.Settings s, Method m) {
    return c.chai().write(s, c.params(), c.stats().histograms(), m);
  }

  static void golden(String file, String text) throws Exception {
    Path f = GOLDEN.resolve(file);
    if (Boolean.getBoolean("qspark.golden.update")) {
      Files.createDirectories(GOLDEN);
      Files.writeString(f, text);
    }
    assertEquals(Files.readString(f), text, file + " (rerun with -Dqspark.golden.update=true after an intended change)");
  }

  static Map<String, LayerParameter> withPrecision(NetParameter net) {
    Map<String, LayerParameter> r = new LinkedHashMap<>();
    for (LayerParameter l : net.getLayerList()) if (l.hasPrecisionParam()) r.put(l.getName(), l);
    return r;
  }

  @Test
  void xilinxModeGoldenAndStructure() throws Exception {
    ChaiDnn.Settings s = new ChaiDnn.Settings(ChaiDnn.Mode.XILINX, new int[] {8, 8, 8}, null);
    Calibrated c = calibrate(s, Method.MSE);
    String text = ChaiDnn.text(emit(c, s, Method.MSE));
    golden("resnet_s_xilinx.prototxt", text);
    NetParameter back = CaffeText.parse(text, "emitted").net();
    assertTrue(CaffeText.parse(text, "emitted").ignored().isEmpty());
    Map<String, LayerParameter> p = withPrecision(back);
    for (LayerParameter l : back.getLayerList()) {
      assertEquals(ChaiDnn.XILINX_TYPES.contains(l.getType()), l.hasPrecisionParam(), l.getName() + " " + l.getType());
    }
    assertEquals(Set.of("Input", "Convolution", "BatchNorm", "Scale", "ReLU", "Eltwise", "Pooling"),
        Set.copyOf(p.values().stream().map(LayerParameter::getType).toList()));
    for (LayerParameter l : p.values()) {
      PrecisionParameter q = l.getPrecisionParam();
      assertEquals("Xilinx", q.getQuantType());
      assertEquals(8, q.getBwLayerIn());
      assertEquals(8, q.getBwLayerOut());
      assertTrue(q.hasThLayerIn() && q.hasThLayerOut(), l.getName());
      assertFalse(q.hasFlLayerIn() || q.hasFlLayerOut() || q.hasFlParams(), l.getName());
      boolean conv = l.getType().equals("Convolution");
      assertEquals(conv, q.hasBwParams(), l.getName());
      assertEquals(conv ? l.getConvolutionParam().getNumOutput() : 0, q.getThParamsCount(), l.getName());
      // every threshold is a power-of-two range: 127 * 2^-fp
      int fp = ChaiDnn.fixPointOf(q.getThLayerOut(), 8);
      assertEquals(127 * Math.scalb(1.0, -fp), q.getThLayerOut(), 1e-12);
    }
    // the fused conv's output threshold is its ReLU's: the in-place blob after the chain
    assertEquals(p.get("stem").getPrecisionParam().getThLayerOut(), p.get("stem/relu").getPrecisionParam().getThLayerOut());
    assertEquals(p.get("stem/relu").getPrecisionParam().getThLayerOut(), p.get("block0/conv1").getPrecisionParam().getThLayerIn());
  }

  @Test
  void dynamicFixedModeGoldenAndStructure() throws Exception {
    ChaiDnn.Settings s = new ChaiDnn.Settings(ChaiDnn.Mode.DYNAMIC_FIXED, new int[] {6, 6, 6}, null);
    Calibrated c = calibrate(s, Method.MSE);
    String text = ChaiDnn.text(emit(c, s, Method.MSE));
    golden("resnet_s_dynamic_fixed.prototxt", text);
    Map<String, LayerParameter> p = withPrecision(CaffeText.parse(text, "emitted").net());
    assertEquals(Set.of("Convolution", "BatchNorm", "Scale", "Eltwise", "Pooling"),
        Set.copyOf(p.values().stream().map(LayerParameter::getType).toList()));
    for (LayerParameter l : p.values()) {
      PrecisionParameter q = l.getPrecisionParam();
      assertEquals("DynamicFixed", q.getQuantType());
      assertTrue(q.hasFlLayerIn() && q.hasFlLayerOut() && q.getBwLayerIn() == 6 && q.getBwLayerOut() == 6, l.getName());
      assertFalse(q.hasThLayerIn() || q.hasThLayerOut() || q.getThParamsCount() > 0, l.getName());
      String t = l.getType();
      assertEquals(t.equals("Convolution"), q.hasFlParams() && q.getBwParams() == 6, l.getName());
      assertEquals(t.equals("BatchNorm"), q.hasBatchnormMeanFl() && q.hasBatchnormVarianceFl()
          && q.getBatchnormMeanBw() == 6 && q.getBatchnormVarianceBw() == 6, l.getName());
      assertEquals(t.equals("Scale"), q.hasScaleGammaFl() && q.hasScaleBetaFl() && q.hasScaleGammaByStdFl()
          && q.getScaleGammaBw() == 6 && q.getScaleBetaBw() == 6 && q.getScaleGammaByStdBw() == 6, l.getName());
    }
    // fl values are qspark's fix_points, and a layer's input is its producer's output
    assertEquals(p.get("stem").getPrecisionParam().getFlLayerOut(), p.get("block0/conv1").getPrecisionParam().getFlLayerIn());
    Node stem = c.chai().paramNode(imp.layers().get(1));
    assertEquals(c.params().params().get(stem.input(1)).fixPoint(), p.get("stem").getPrecisionParam().getFlParams());
  }

  @Test
  void userFixedFractionalLengths() throws Exception {
    ChaiDnn.Settings s = new ChaiDnn.Settings(ChaiDnn.Mode.DYNAMIC_FIXED, new int[] {6, 6, 6}, new int[] {2, 5, 2});
    Calibrated c = calibrate(new ChaiDnn.Settings(ChaiDnn.Mode.DYNAMIC_FIXED, new int[] {6, 6, 6}, null), Method.MSE);
    for (LayerParameter l : withPrecision(emit(c, s, Method.MSE)).values()) {
      PrecisionParameter q = l.getPrecisionParam();
      assertEquals(2, q.getFlLayerIn());
      assertEquals(2, q.getFlLayerOut());
      if (q.hasFlParams()) assertEquals(5, q.getFlParams());
    }
  }

  @Test
  void bitWidthsOtherThanSixOrEightAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ChaiDnn.Settings(ChaiDnn.Mode.DYNAMIC_FIXED, new int[] {8, 4, 8}, null));
    assertTrue(e.getMessage().startsWith("CHaiDNN computes with 8 or 6 bits only"), e.getMessage());
  }

  @Test
  void biasWidthIsCheckedAgainstChaiDnnsAndUsed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ChaiDnn.Settings(ChaiDnn.Mode.DYNAMIC_FIXED, new int[] {8, 8, 8}, null, 20));
    assertEquals("CHaiDNN adds biases of at most 16 bits; the bias width must be 2..16, got 20", e.getMessage());
    ChaiDnn.Settings s = new ChaiDnn.Settings(ChaiDnn.Mode.XILINX, new int[] {6, 6, 6}, null);
    assertEquals(16, s.biasBits(), "CHaiDNN's own");
    assertEquals(16, s.config(Method.MSE).biasBits());
    assertEquals(8, new ChaiDnn.Settings(ChaiDnn.Mode.XILINX, new int[] {6, 6, 6}, null, 8).config(Method.MSE).biasBits());
    // aligned with the accumulator: fl_in + fl_params, at the given width
    FixPoint b = ChaiDnn.chaiBias(new FixPoint(8, 5, Rounding.HALF_UP), new FixPoint(8, 7, Rounding.HALF_AWAY), 8);
    assertEquals(8, b.bits());
    assertEquals(12, b.fixPoint());
  }

  /**
   * Fake-quant driven only by the emitted precision parameters gives qspark's own quantized
   * top-1 (on the first 2,000 test images: the parameters are asserted identical first, so the
   * run confirms rather than discovers), in both modes.
   */
  @Test
  void precisionParametersAloneReproduceQspark() throws Exception {
    for (ChaiDnn.Mode mode : ChaiDnn.Mode.values()) {
      ChaiDnn.Settings s = new ChaiDnn.Settings(mode, new int[] {8, 8, 8}, null);
      Calibrated c = calibrate(s, Method.MSE);
      NetParameter emitted = CaffeText.parse(ChaiDnn.text(emit(c, s, Method.MSE)), "emitted").net();
      QuantParams own = c.chai().deployed(mode, c.params());
      QuantParams read = fromPrototxt(emitted, c);
      assertEquals(own.activations(), read.activations(), mode.key);
      assertEquals(own.params(), read.params(), mode.key);
      int a = top1(new QuantizedModel(model.graph(), c.plan(), own));
      int b = top1(new QuantizedModel(model.graph(), c.plan(), read));
      assertEquals(a, b, mode.key);
      assertTrue(a > 1840, mode.key + " top-1 " + a);
    }
  }

  /**
   * Quantization parameters from a CHaiDNN prototxt: each activation point from th/fl of the
   * layer writing it (a layer's input only where no layer writes it, the network input);
   * weights from fl_params (DynamicFixed) or, as Xilinx mode gives per-channel thresholds
   * where qspark keeps one power-of-two scale, by qspark's weight rule; biases by CHaiDNN's.
   */
  static QuantParams fromPrototxt(NetParameter net, Calibrated c) {
    Map<String, LayerParameter> p = withPrecision(net);
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    Map<String, QuantPlan.ActivationPoint> points = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : c.plan().activations()) points.put(a.name(), a);
    Map<String, FixPoint> rule = QuantParams.params(model.graph(), c.plan(), c.cfg());
    Map<String, FixPoint> ps = new LinkedHashMap<>();
    for (int pass = 0; pass < 2; pass++) {
      for (CaffeImporter.Layer l : imp.layers()) {
        LayerParameter lp = p.get(l.name());
        if (lp == null) continue;
        PrecisionParameter q = lp.getPrecisionParam();
        boolean xilinx = q.getQuantType().equals("Xilinx");
        boolean input = l.type().equals("Input");
        String v = pass == 0 ? l.outputs().get(0) : input ? l.outputs().get(0) : l.inputs().get(0);
        int bw = pass == 0 ? q.getBwLayerOut() : q.getBwLayerIn();
        boolean has = pass == 0 ? q.hasThLayerOut() || q.hasFlLayerOut() : q.hasThLayerIn() || q.hasFlLayerIn();
        String pt = c.chai().point(v);
        if (has && pt != null && !acts.containsKey(pt)) {
          int fp = xilinx ? ChaiDnn.fixPointOf(pass == 0 ? q.getThLayerOut() : q.getThLayerIn(), bw)
              : pass == 0 ? q.getFlLayerOut() : q.getFlLayerIn();
          acts.put(pt, new FixPoint(bw, fp, points.get(pt).rounding()));
        }
      }
    }
    for (CaffeImporter.Layer l : imp.layers()) {
      LayerParameter lp = p.get(l.name());
      if (lp == null || !lp.getPrecisionParam().hasBwParams()) continue;
      PrecisionParameter q = lp.getPrecisionParam();
      Node n = c.chai().paramNode(l);
      FixPoint w = q.hasFlParams() ? new FixPoint(q.getBwParams(), q.getFlParams(), c.cfg().weightRounding()) : rule.get(n.input(1));
      ps.put(n.input(1), w);
      if (n.hasInput(2)) ps.put(n.input(2), ChaiDnn.chaiBias(acts.get(c.plan().pointOf(n.input(0))), w));
    }
    Map<String, FixPoint> ordered = new LinkedHashMap<>();
    for (String pt : points.keySet()) if (acts.containsKey(pt)) ordered.put(pt, acts.get(pt));
    return QuantParams.partial(ordered, ps);
  }

  static int top1(QuantizedModel qm) {
    Executor ex = qm.executor(1);
    String in = model.graph().inputs().get(0).name();
    String out = model.graph().outputs().get(0);
    int correct = 0;
    for (int i = 0; i < TOP1_IMAGES; i += 500) {
      float[] y = qm.run(ex, Map.of(in, test.slice0(i, i + 500))).get(out).data();
      for (int b = 0; b < 500; b++) if (ArgMax.of(y, b * 10, 10) == labels[i + b]) correct++;
    }
    return correct;
  }
}

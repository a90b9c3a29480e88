package io.qspark.kernels.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.SsdNet;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SSD's layers: Normalize computed, PriorBox/DetectionOutput passed through for CHaiDNN, listed as unsupported elsewhere. */
class CaffeSsdTest {
  @TempDir Path dir;

  private CaffeImporter.Imported forChai() throws Exception {
    Path p = SsdNet.write(dir);
    return CaffeImporter.loadForChaiDnn(p, CaffeImporter.weightsBeside(p), null);
  }

  @Test
  void priorsAndDetectionPassThroughAndTheirInputsBecomeOutputs() throws Exception {
    CaffeImporter.Imported imp = forChai();
    assertEquals(List.of("conv3_norm_mbox_priorbox", "conv4_mbox_priorbox", "mbox_priorbox", "detection_out"),
        imp.passedThrough().stream().map(LayerParameter::getName).toList());
    // DetectionOutput's computed bottoms are what the quantized net ends in
    assertEquals(List.of("mbox_loc", "mbox_conf_flatten"), imp.graph().outputs());
    Model m = Model.prepare(imp.graph(), "ssd", "", "caffe").forInference();
    // 16x16 and 8x8 sources, 4 priors of 4 coordinates / 3 classes each
    int boxes = (16 * 16 + 8 * 8) * SsdNet.PRIORS;
    assertArrayEquals(new int[] {-1, boxes * 4}, m.shape("mbox_loc"));
    assertArrayEquals(new int[] {-1, boxes * SsdNet.CLASSES}, m.shape("mbox_conf_flatten"));
    // the net written back keeps every layer, the passed ones with their parameters
    NetParameter net = imp.net();
    assertEquals(SsdNet.PROTOTXT.split("layer \\{", -1).length - 1, net.getLayerCount());
    LayerParameter det = net.getLayerList().stream().filter(l -> l.getName().equals("detection_out")).findFirst().orElseThrow();
    assertEquals(3, det.getDetectionOutputParam().getNumClasses());
    assertEquals(0.45f, det.getDetectionOutputParam().getNmsParam().getNmsThreshold());
    assertTrue(imp.ignored().isEmpty(), imp.ignored().toString());
  }

  /** Caffe SSD's normalize_layer.cpp, across_spatial false: y = x / sqrt(sum_c x^2 + eps) * scale[c], computed here. */
  @Test
  void normalizeIsTheL2NormOverChannelsTimesTheScale() throws Exception {
    CaffeImporter.Imported imp = forChai();
    CaffeImporter.Layer norm = imp.layers().stream().filter(l -> l.name().equals("conv3_norm")).findFirst().orElseThrow();
    Random r = new Random(3);
    float[] xs = new float[2 * 3 * 32 * 32];
    for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
    Map<String, Tensor> v = new Executor(imp.graph()).run(Map.of("data", Tensor.of(xs, 2, 3, 32, 32)), TensorObserver.NONE, true);
    Tensor x = v.get(norm.inputs().get(0));
    Tensor y = v.get(norm.outputs().get(0));
    assertArrayEquals(x.shape(), y.shape());
    int c = x.dim(1), plane = x.dim(2) * x.dim(3);
    for (int n = 0; n < x.dim(0); n++) {
      for (int p = 0; p < plane; p++) {
        double s = 1e-10;
        for (int ch = 0; ch < c; ch++) s += Math.pow(x.data()[(n * c + ch) * plane + p], 2);
        for (int ch = 0; ch < c; ch++) {
          int i = (n * c + ch) * plane + p;
          double want = x.data()[i] / Math.sqrt(s) * SsdNet.NORM_SCALE[ch];
          assertEquals(want, y.data()[i], 1e-5 * Math.max(1, Math.abs(want)), "at " + i);
        }
      }
    }
  }

  /** Normalize's defaults, across_spatial and channel_shared true: one norm over all of an image's values, one scale. */
  @Test
  void normalizeAcrossSpatialWithASharedScale() throws Exception {
    String proto = """
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 3 dim: 4 } } }
        layer { name: "norm" type: "Normalize" bottom: "data" top: "norm" norm_param { eps: 0.5 } }
        """;
    NetParameter w = NetParameter.newBuilder().addLayer(LayerParameter.newBuilder().setName("norm").setType("Normalize")
        .addBlobs(SsdNet.blob(new Random(1), 0f, 1).toBuilder().setData(0, 3f))).build();
    java.nio.file.Files.writeString(dir.resolve("n.prototxt"), proto);
    java.nio.file.Files.write(dir.resolve("n.caffemodel"), w.toByteArray());
    Model m = Model.load(dir.resolve("n.prototxt"));
    float[] xs = new float[2 * 24];
    for (int i = 0; i < xs.length; i++) xs[i] = (i % 7) - 3f;
    Tensor y = new Executor(m.graph()).run(Map.of("data", Tensor.of(xs, 2, 2, 3, 4)), TensorObserver.NONE).get("norm");
    for (int n = 0; n < 2; n++) {
      double s = 0.5;
      for (int i = 0; i < 24; i++) s += xs[n * 24 + i] * xs[n * 24 + i];
      for (int i = 0; i < 24; i++) assertEquals(xs[n * 24 + i] / Math.sqrt(s) * 3, y.data()[n * 24 + i], 1e-6);
    }
  }

  @Test
  void otherImportsListThemWithTheUnsupportedTypesInOneLine() throws Exception {
    Path p = SsdNet.write(dir);
    GraphException e = assertThrows(GraphException.class, () -> CaffeImporter.load(p, CaffeImporter.weightsBeside(p)));
    String msg = e.getMessage();
    assertFalse(msg.contains("\n"), msg);
    assertTrue(msg.contains("unsupported Caffe layer types: DetectionOutput (detection_out), PriorBox (conv3_norm_mbox_priorbox,"
        + " conv4_mbox_priorbox)"), msg);
    assertTrue(msg.contains("xportdnn passes such layers through"), msg);
    // the Concat after the priors is not reported again as reading a missing blob
    assertFalse(msg.contains("mbox_priorbox' reads"), msg);
  }

  /** CHaiDNN's table: Normalize and Permute carry a precision_param in Xilinx mode; PriorBox and the rest never. */
  @Test
  void chaiDnnWritesPassedLayersBackUntouched() throws Exception {
    CaffeImporter.Imported imp = forChai();
    Model m = Model.prepare(imp.graph(), "ssd", "", "caffe").forInference();
    ChaiDnn.Settings s = new ChaiDnn.Settings(ChaiDnn.Mode.DYNAMIC_FIXED, new int[] {8, 8, 8}, new int[] {2, 5, 2});
    QuantConfig cfg = s.config(Method.MSE);
    ChaiDnn chai = new ChaiDnn(imp, m.graph(), QuantPlan.of(m.graph(), cfg));
    NetParameter out = chai.write(s, null, null, Method.MSE);
    for (LayerParameter l : out.getLayerList()) {
      LayerParameter in = imp.net().getLayerList().stream().filter(x -> x.getName().equals(l.getName())).findFirst().orElseThrow();
      assertEquals(in, l.toBuilder().clearPrecisionParam().build(), l.getName());
      boolean expected = ChaiDnn.carriesPrecision(ChaiDnn.Mode.DYNAMIC_FIXED, l.getType());
      assertEquals(expected, l.hasPrecisionParam(), l.getName());
    }
    List<String> warnings = chai.withoutPrecision(out, ChaiDnn.Mode.DYNAMIC_FIXED);
    assertTrue(warnings.contains("layer 'mbox_priorbox' (Concat) gets no precision_param: passed through unchanged (qspark does"
        + " not compute it; CHaiDNN runs it in software)"), warnings.toString());
    assertTrue(warnings.contains("layer 'mbox_conf_softmax' (Softmax) gets no precision_param: CHaiDNN's DynamicFixed mode takes"
        + " none for Softmax (it runs in float)"), warnings.toString());
    // one per layer without one: Input, Normalize, ReLUs, Flattens, Concats, Reshape, Softmax, the passed layers
    long without = out.getLayerList().stream().filter(l -> !l.hasPrecisionParam()).count();
    assertEquals(without, warnings.size());
  }
}

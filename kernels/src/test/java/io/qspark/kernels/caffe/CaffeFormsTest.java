package io.qspark.kernels.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.caffe.proto.CaffeProto.BlobProto;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobShape;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.V1LayerParameter;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Small nets written here: the legacy `layers` form, in-place layers, Caffe's pooling, and the errors. */
class CaffeFormsTest {
  @TempDir Path dir;

  static final String CURRENT = """
      name: "tiny"
      layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
      layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        param { lr_mult: 1 }
        convolution_param { num_output: 3 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
      layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
      layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
      layer { name: "apool" type: "Pooling" bottom: "conv" top: "apool" pooling_param { pool: AVE kernel_h: 2 kernel_w: 2 stride: 2 pad: 1 } }
      layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 4 } }
      layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
      """;

  static final String LEGACY = """
      name: "tiny"
      input: "data"
      input_dim: 1 input_dim: 2 input_dim: 5 input_dim: 5
      layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv" blobs_lr: 1
        convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }
      layers { name: "relu" type: RELU bottom: "conv" top: "conv" }
      layers { name: "pool" type: POOLING bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
      layers { name: "apool" type: POOLING bottom: "conv" top: "apool" pooling_param { pool: AVE kernel_h: 2 kernel_w: 2 stride: 2 pad: 1 } }
      layers { name: "fc" type: INNER_PRODUCT bottom: "pool" top: "fc" inner_product_param { num_output: 4 } }
      layers { name: "prob" type: SOFTMAX bottom: "fc" top: "prob" }
      """;

  static BlobProto blob(Random r, int... shape) {
    return io.qspark.kernels.testing.SsdNet.blob(r, 1f, shape);
  }

  /** Legacy 4-D blob (num, channels, height, width), as old caffemodels store them. */
  static BlobProto legacyBlob(Random r, int num, int ch, int h, int w) {
    BlobProto.Builder b = BlobProto.newBuilder().setNum(num).setChannels(ch).setHeight(h).setWidth(w);
    for (int i = 0; i < num * ch * h * w; i++) b.addData((float) r.nextGaussian());
    return b.build();
  }

  static NetParameter weights(boolean legacy) {
    Random r = new Random(7);
    if (!legacy) {
      return NetParameter.newBuilder()
          .addLayer(LayerParameter.newBuilder().setName("conv").setType("Convolution").addBlobs(blob(r, 3, 2, 3, 3)).addBlobs(blob(r, 3)))
          .addLayer(LayerParameter.newBuilder().setName("fc").setType("InnerProduct").addBlobs(blob(r, 4, 27)).addBlobs(blob(r, 4)))
          .build();
    }
    return NetParameter.newBuilder()
        .addLayers(V1LayerParameter.newBuilder().setName("conv").setType(V1LayerParameter.LayerType.CONVOLUTION)
            .addBlobs(legacyBlob(r, 3, 2, 3, 3)).addBlobs(legacyBlob(r, 1, 1, 1, 3)))
        .addLayers(V1LayerParameter.newBuilder().setName("fc").setType(V1LayerParameter.LayerType.INNER_PRODUCT)
            .addBlobs(legacyBlob(r, 1, 1, 4, 27)).addBlobs(legacyBlob(r, 1, 1, 1, 4)))
        .build();
  }

  Path write(String name, String prototxt, NetParameter weights) throws Exception {
    Path p = dir.resolve(name + ".prototxt");
    Files.writeString(p, prototxt);
    Files.write(dir.resolve(name + ".caffemodel"), weights.toByteArray());
    return p;
  }

  @Test
  void legacyFormImportsAsTheCurrentForm() throws Exception {
    Model current = Model.load(write("current", CURRENT, weights(false)));
    Model legacy = Model.load(write("legacy", LEGACY, weights(true)));
    Tensor x = Tensor.of(randoms(2 * 2 * 5 * 5), 2, 2, 5, 5);
    Tensor a = new Executor(current.graph()).run(java.util.Map.of("data", x), io.qspark.kernels.exec.TensorObserver.NONE).get("prob");
    Tensor b = new Executor(legacy.graph()).run(java.util.Map.of("data", x), io.qspark.kernels.exec.TensorObserver.NONE).get("prob");
    assertArrayEquals(a.shape(), new int[] {2, 4});
    assertArrayEquals(a.data(), b.data());
    // Caffe rounds pooled sizes up: 5x5, kernel 2, stride 2 -> 3x3 (floor would give 2x2);
    // with pad 1: (5 + 2 - 2) / 2 rounded up + 1 = 4, but the 4th window would start in the
    // padding (3 * 2 >= 5 + 1), which Caffe drops: 3
    assertArrayEquals(new int[] {-1, 3, 3, 3}, current.shape("pool"));
    assertArrayEquals(new int[] {-1, 3, 3, 3}, current.shape("apool"));
  }

  @Test
  void inPlaceLayersGetTheirOwnValues() throws Exception {
    CaffeImporter.Imported imp = CaffeImporter.load(write("current", CURRENT, weights(false)), dir.resolve("current.caffemodel"));
    CaffeImporter.Layer conv = imp.layers().get(1);
    CaffeImporter.Layer relu = imp.layers().get(2);
    assertEquals("conv", conv.outputs().get(0));
    assertEquals(conv.outputs(), relu.inputs());
    assertEquals("relu", relu.outputs().get(0)); // the blob "conv" after the in-place ReLU
    assertEquals(java.util.List.of("relu"), imp.layers().get(3).inputs());
    // both unread blobs are outputs, as Caffe's net outputs
    assertEquals(java.util.List.of("apool", "prob"), imp.graph().outputs());
  }

  /** Caffe's average pooling with padding divides by the window clipped to input + padding. */
  @Test
  void averagePoolingDividesAsCaffe() throws Exception {
    String net = """
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 3 dim: 3 } } }
        layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 } }
        """;
    NetParameter w = NetParameter.newBuilder().addLayer(LayerParameter.newBuilder().setName("p").setType("Pooling")).build();
    Model m = Model.load(write("avg", net, w));
    float[] y = new Executor(m.graph()).run(Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)).data();
    // 2x2 output; Caffe: window rows [-1,1) and [1,3): every window has 4 taps inside input + pad
    assertArrayEquals(new float[] {1 / 4f, (2 + 3) / 4f, (4 + 7) / 4f, (5 + 6 + 8 + 9) / 4f}, y);
  }

  @Tag("slow")
  @Test
  void ignoredFieldsAreNamed() throws Exception {
    String net = CURRENT.replace("layer { name: \"relu\"", "layer { lrn_param { local_size: 5 } name: \"relu\"");
    CaffeImporter.Imported imp = CaffeImporter.load(write("ign", net, weights(false)), dir.resolve("ign.caffemodel"));
    assertTrue(imp.ignored().stream().anyMatch(s -> s.contains("lrn_param")), imp.ignored().toString());
  }

  @Test
  void unknownLayerTypesAreListedTogether() throws Exception {
    String net = CURRENT.replace("type: \"ReLU\"", "type: \"LRN\"").replace("type: \"Softmax\"", "type: \"Frobnicate\"");
    GraphException e = assertThrows(GraphException.class, () -> Model.load(write("unk", net, weights(false))));
    assertTrue(e.getMessage().contains("unsupported Caffe layer types: Frobnicate (prob), LRN (relu)"), e.getMessage());
  }

  @Test
  void missingBlobsAreNamed() throws Exception {
    NetParameter w = NetParameter.newBuilder().addLayer(weights(false).getLayer(1)).build();
    GraphException e = assertThrows(GraphException.class, () -> Model.load(write("miss", CURRENT, w)));
    assertTrue(e.getMessage().contains("layer 'conv' (Convolution) needs 2 blobs"), e.getMessage());
  }

  @Test
  void prototxtAndCaffemodelMismatchesAreNamed() throws Exception {
    GraphException shape = assertThrows(GraphException.class,
        () -> Model.load(write("shape", CURRENT.replace("num_output: 3", "num_output: 5"), weights(false))));
    assertTrue(shape.getMessage().contains("layer 'conv' (Convolution): blob 0"), shape.getMessage());
    NetParameter.Builder w = weights(false).toBuilder();
    w.setLayer(1, w.getLayer(1).toBuilder().setType("Convolution"));
    GraphException type = assertThrows(GraphException.class, () -> Model.load(write("type", CURRENT, w.build())));
    assertTrue(type.getMessage().contains("layer 'fc' is InnerProduct in the prototxt but Convolution in"), type.getMessage());
  }

  @Test
  void missingWeightsFileSaysSo() throws Exception {
    Path p = dir.resolve("alone.prototxt");
    Files.writeString(p, CURRENT);
    GraphException e = assertThrows(GraphException.class, () -> Model.load(p));
    assertTrue(e.getMessage().startsWith("caffemodel file not found: "), e.getMessage());
  }

  /** The other layer types on known values: each against what Caffe computes. */
  @Test
  void layerZoo() throws Exception {
    String net = """
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
        layer { name: "small" type: "Input" top: "small" input_param { shape { dim: 1 dim: 1 dim: 2 dim: 3 } } }
        layer { name: "drop" type: "Dropout" bottom: "data" top: "data" dropout_param { dropout_ratio: 0.3 } }
        layer { name: "pw" type: "Power" bottom: "data" top: "pw" power_param { power: 2 scale: 0.5 shift: 1 } }
        layer { name: "sum" type: "Eltwise" bottom: "data" bottom: "pw" top: "sum" eltwise_param { operation: SUM coeff: 2 coeff: -1 } }
        layer { name: "prod" type: "Eltwise" bottom: "data" bottom: "data" top: "prod" eltwise_param { operation: PROD } }
        layer { name: "max" type: "Eltwise" bottom: "prod" bottom: "sum" top: "max" eltwise_param { operation: MAX } }
        layer { name: "cat" type: "Concat" bottom: "max" bottom: "data" top: "cat" }
        layer { name: "crop" type: "Crop" bottom: "cat" bottom: "small" top: "crop" crop_param { axis: 2 offset: 1 } }
        layer { name: "gmax" type: "Pooling" bottom: "data" top: "gmax" pooling_param { pool: MAX global_pooling: true } }
        layer { name: "perm" type: "Permute" bottom: "data" top: "perm" permute_param { order: 0 order: 2 } }
        layer { name: "flat" type: "Flatten" bottom: "perm" top: "flat" }
        layer { name: "re" type: "Reshape" bottom: "flat" top: "re" reshape_param { shape { dim: 0 dim: 4 dim: -1 } } }
        layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { bias_term: true } }
        layer { name: "up" type: "Deconvolution" bottom: "data" top: "up" convolution_param { num_output: 1 kernel_size: 2 stride: 2 bias_term: false } }
        """;
    NetParameter w = NetParameter.newBuilder()
        .addLayer(LayerParameter.newBuilder().setName("sc").setType("Scale")
            .addBlobs(BlobProto.newBuilder().addData(2).addData(3).setShape(BlobShape.newBuilder().addDim(2)))
            .addBlobs(BlobProto.newBuilder().addData(10).addData(20).setShape(BlobShape.newBuilder().addDim(2))))
        .addLayer(LayerParameter.newBuilder().setName("up").setType("Deconvolution")
            .addBlobs(BlobProto.newBuilder().addData(1).addData(0).addData(0).addData(0).addData(0).addData(0).addData(0).addData(1)
                .setShape(BlobShape.newBuilder().addDim(2).addDim(1).addDim(2).addDim(2))))
        .build();
    Model m = Model.load(write("zoo", net, w));
    float[] x = new float[32];
    for (int i = 0; i < 32; i++) x[i] = i - 10;
    java.util.Map<String, Tensor> y = new Executor(m.graph()).run(java.util.Map.of("data", Tensor.of(x, 1, 2, 4, 4),
        "small", Tensor.zeros(1, 1, 2, 3)), io.qspark.kernels.exec.TensorObserver.NONE, true);
    for (int i = 0; i < 32; i++) {
      float pw = (1 + 0.5f * x[i]) * (1 + 0.5f * x[i]);
      assertEquals(pw, y.get("pw").data()[i], 0f);
      assertEquals(2 * x[i] - pw, y.get("sum").data()[i], 1e-5f);
      assertEquals(Math.max(x[i] * x[i], 2 * x[i] - pw), y.get("max").data()[i], 1e-5f);
      int c = i / 16;
      assertEquals(x[i] * (c == 0 ? 2 : 3) + (c == 0 ? 10 : 20), y.get("sc").data()[i], 0f);
    }
    // Crop from axis 2 at offset 1 to the reference's 2x3, over all 4 channels of the concat
    assertArrayEquals(new int[] {1, 4, 2, 3}, y.get("crop").shape());
    assertEquals(y.get("cat").data()[1 * 4 + 1], y.get("crop").data()[0], 0f);
    assertArrayEquals(new float[] {5, 21}, y.get("gmax").data());
    assertArrayEquals(new int[] {1, 4, 2, 4}, y.get("perm").shape()); // order 0,2 then the rest: 0,2,1,3
    assertArrayEquals(new int[] {1, 4, 8}, y.get("re").shape());
    // stride-2 2x2 deconvolution: channel 0's value at (0,0) of each block, channel 1's at (1,1)
    assertArrayEquals(new int[] {1, 1, 8, 8}, y.get("up").shape());
    assertEquals(x[0], y.get("up").data()[0], 0f);
    assertEquals(x[16], y.get("up").data()[9], 0f);
  }

  /** An ONNX model written as Caffe layers imports back to the same function. */
  @Tag("slow")
  @Test
  void onnxExportsToCaffeAndBack() throws Exception {
    Model onnx = Model.load(io.qspark.kernels.testing.Shared.model("resnet_s.onnx"));
    NetParameter caffe = CaffeExporter.export(onnx.graph());
    CaffeImporter.Imported imp = CaffeImporter.of(caffe, caffe, "converted");
    Tensor x = io.qspark.kernels.testing.Shared.testImages(64);
    assertArrayEquals(new Executor(onnx.graph()).run(x).data(), new Executor(imp.graph()).run(x).data(), 1e-5f);
    GraphException e = assertThrows(GraphException.class,
        () -> CaffeExporter.export(Model.load(io.qspark.kernels.testing.Shared.model("mbv2_s.onnx")).graph()));
    assertTrue(e.getMessage().contains("cannot be written as Caffe layers: Clip ("), e.getMessage());
  }

  static float[] randoms(int n) {
    Random r = new Random(3);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }
}

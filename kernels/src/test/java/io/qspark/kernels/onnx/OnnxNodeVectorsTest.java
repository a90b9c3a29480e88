package io.qspark.kernels.onnx;

import static java.util.Map.entry;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TypeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX's own node test vectors (Debian package libonnx-testdata, ONNX 1.12): every vector whose
 * model uses only ops {@link OpRegistry} supports and only float/int64/int32/bool tensors is
 * imported, run through the {@link Executor} and compared with the reference outputs.
 */
class OnnxNodeVectorsTest {
  static final Path ROOT = Path.of("/usr/share/libonnx-testdata/data/node");

  /** Tensor element types the executor represents (int32 and bool are held as int64). */
  private static final Set<Integer> TYPES = Set.of(TensorProto.DataType.FLOAT_VALUE,
      TensorProto.DataType.INT64_VALUE, TensorProto.DataType.INT32_VALUE,
      TensorProto.DataType.BOOL_VALUE);

  /**
   * Selected vectors that test something qspark deliberately does not do, with the reason.
   * {@link #excludedVectorsStillFail} keeps this list honest: an entry that starts passing
   * must be removed.
   */
  static final Map<String, String> EXCLUDED = new TreeMap<>(Map.ofEntries(
      // The importer accepts opsets 7..18 by design (older opsets differ in attributes such as
      // Add's broadcast); these vectors were generated at opset 1 and 6.
      entry("test_globalaveragepool", "opset 1 model: the importer requires opset >= 7"),
      entry("test_globalaveragepool_precomputed", "opset 1 model: the importer requires opset >= 7"),
      entry("test_hardsigmoid", "opset 6 model: the importer requires opset >= 7"),
      entry("test_hardsigmoid_default", "opset 6 model: the importer requires opset >= 7"),
      entry("test_hardsigmoid_example", "opset 6 model: the importer requires opset >= 7"),
      // Windowed ops are 2-D (NCHW) only: the models qspark targets are image CNNs.
      entry("test_averagepool_1d_default", "1-D pooling: only 2-D pooling is supported"),
      entry("test_averagepool_3d_default", "3-D pooling: only 2-D pooling is supported"),
      entry("test_maxpool_1d_default", "1-D pooling: only 2-D pooling is supported"),
      entry("test_maxpool_3d_default", "3-D pooling: only 2-D pooling is supported"),
      entry("test_convtranspose_1d", "1-D ConvTranspose: only 2-D is supported"),
      entry("test_convtranspose_3d", "3-D ConvTranspose: only 2-D is supported"),
      entry("test_maxpool_with_argmax_2d_precomputed_pads",
          "MaxPool's optional Indices output is not implemented"),
      entry("test_maxpool_with_argmax_2d_precomputed_strides",
          "MaxPool's optional Indices output is not implemented"),
      // Resize does nearest and linear only.
      entry("test_resize_downsample_scales_cubic", "cubic Resize is not supported"),
      entry("test_resize_downsample_scales_cubic_A_n0p5_exclude_outside", "cubic Resize is not supported"),
      entry("test_resize_downsample_scales_cubic_align_corners", "cubic Resize is not supported"),
      entry("test_resize_downsample_sizes_cubic", "cubic Resize is not supported"),
      entry("test_resize_upsample_scales_cubic", "cubic Resize is not supported"),
      entry("test_resize_upsample_scales_cubic_A_n0p5_exclude_outside", "cubic Resize is not supported"),
      entry("test_resize_upsample_scales_cubic_align_corners", "cubic Resize is not supported"),
      entry("test_resize_upsample_scales_cubic_asymmetric", "cubic Resize is not supported"),
      entry("test_resize_upsample_sizes_cubic", "cubic Resize is not supported"),
      entry("test_resize_tf_crop_and_resize", "Resize tf_crop_and_resize (roi) is not supported"),
      // Inference only: training-mode BatchNormalization uses batch statistics and emits
      // running means; training-mode Dropout is random.
      entry("test_batchnorm_epsilon_training_mode", "training-mode BatchNormalization: inference only"),
      entry("test_batchnorm_example_training_mode", "training-mode BatchNormalization: inference only"),
      entry("test_training_dropout", "training-mode Dropout with ratio > 0 is random: inference only"),
      entry("test_training_dropout_default", "training-mode Dropout with ratio > 0 is random: inference only"),
      entry("test_training_dropout_default_mask",
          "training-mode Dropout with ratio > 0 is random: inference only"),
      entry("test_training_dropout_mask", "training-mode Dropout with ratio > 0 is random: inference only")));

  /** Below this many vectors run, the directory scan or the selection is broken. */
  private static final int MIN_RUN = 150;

  static List<Path> selected() {
    if (!Files.isDirectory(ROOT)) {
      fail("ONNX node test vectors not found at " + ROOT
          + ": install them with `apt-get install -y libonnx-testdata`");
    }
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> s = Files.list(ROOT)) {
      for (Path d : s.sorted().toList()) {
        if (Files.isRegularFile(d.resolve("model.onnx")) && runnable(d)) dirs.add(d);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dirs;
  }

  /** Only supported ops of the default domain, only tensor-typed values of supported types. */
  private static boolean runnable(Path dir) throws IOException {
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx")));
    for (NodeProto n : m.getGraph().getNodeList()) {
      boolean onnxDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
      if (!onnxDomain || !OpRegistry.supported().contains(n.getOpType())) return false;
    }
    List<ValueInfoProto> values = new ArrayList<>(m.getGraph().getInputList());
    values.addAll(m.getGraph().getOutputList());
    for (ValueInfoProto v : values) {
      TypeProto t = v.getType();
      if (!t.hasTensorType() || !TYPES.contains(t.getTensorType().getElemType())) return false;
    }
    return true;
  }

  static Stream<Named<Path>> vectors() {
    return selected().stream().map(d -> Named.of(d.getFileName().toString(), d));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void matchesReference(Path dir) throws IOException {
    String why = EXCLUDED.get(dir.getFileName().toString());
    Assumptions.assumeTrue(why == null, () -> "excluded: " + why);
    run(dir);
  }

  @Test
  void enoughVectorsRun() {
    List<Path> all = selected();
    long run = all.stream().filter(d -> !EXCLUDED.containsKey(d.getFileName().toString())).count();
    assertTrue(run >= MIN_RUN, "only " + run + " of " + all.size() + " selected node vectors run"
        + " (floor " + MIN_RUN + "); is " + ROOT + " complete?");
  }

  /** An exclusion must name a selected vector that really fails, or it hides working code. */
  @Test
  void excludedVectorsStillFail() {
    Map<String, Path> byName = new HashMap<>();
    for (Path d : selected()) byName.put(d.getFileName().toString(), d);
    List<String> stale = new ArrayList<>();
    for (String name : EXCLUDED.keySet()) {
      Path d = byName.get(name);
      if (d == null) {
        stale.add(name + " (not a selected vector)");
        continue;
      }
      try {
        run(d);
        stale.add(name + " (passes now)");
      } catch (AssertionError | RuntimeException | IOException expected) {
        // still unsupported, as the list says
      }
    }
    assertEquals(List.of(), stale, "remove these from EXCLUDED");
  }

  private static void run(Path dir) throws IOException {
    Graph g = OnnxImporter.load(dir.resolve("model.onnx")).graph();
    Path data = dir.resolve("test_data_set_0");
    Map<String, Tensor> feeds = new HashMap<>();
    for (int i = 0; i < g.inputs().size(); i++) {
      feeds.put(g.inputs().get(i).name(), read(data.resolve("input_" + i + ".pb")));
    }
    Map<String, Tensor> outs = new Executor(g).run(feeds);
    for (int i = 0; i < g.outputs().size(); i++) {
      String name = g.outputs().get(i);
      compare(dir.getFileName() + ": " + name, read(data.resolve("output_" + i + ".pb")), outs.get(name));
    }
  }

  private static Tensor read(Path pb) throws IOException {
    TensorProto p = TensorProto.parseFrom(Files.readAllBytes(pb));
    return OnnxTensors.decode(p, p.getRawData());
  }

  private static void compare(String name, Tensor want, Tensor got) {
    assertArrayEquals(want.shape(), got.shape(), () -> name + ": shape " + Tensor.shapeString(got.shape())
        + ", expected " + Tensor.shapeString(want.shape()));
    assertEquals(want.dtype(), got.dtype(), () -> name + ": dtype");
    if (!want.isFloat()) {
      assertArrayEquals(want.longs(), got.longs(), () -> name + ": values");
      return;
    }
    float[] w = want.data();
    float[] a = got.data();
    for (int i = 0; i < w.length; i++) {
      boolean ok = Float.isNaN(w[i]) ? Float.isNaN(a[i])
          : w[i] == a[i] || Math.abs(w[i] - a[i]) <= 1e-4 + 1e-4 * Math.abs(w[i]);
      if (!ok) fail(name + "[" + i + "] = " + a[i] + ", expected " + w[i]);
    }
  }
}

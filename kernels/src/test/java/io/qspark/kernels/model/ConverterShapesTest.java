package io.qspark.kernels.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Gaussian;
import io.qspark.kernels.testing.ConverterModels;
import io.qspark.kernels.testing.OrtRunner;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models with the shapes converters emit import, fold their shape arithmetic away and compute
 * what ONNX Runtime computes (within 1e-4 on every output): one with dynamic height and width
 * (fixed by input shapes), one with a decomposed LayerNorm and 3-D MatMuls between conv blocks
 * exported with a fixed batch, and a fixed-batch one whose graph mixes its images.
 */
class ConverterShapesTest {
  @TempDir Path dir;

  @Test
  void dynamicHeightAndWidthRunWithInputShapes() throws Exception {
    Path file = ConverterModels.dynamicDetector(dir.resolve("detector.onnx"));
    Model m = Model.load(file);
    assertFalse(m.resolved());
    String msg = assertThrows(GraphException.class, m::shapes).getMessage();
    assertTrue(msg.contains("--input-shape images=3,H,W"), msg);
    assertFalse(msg.contains("\n"), msg);

    Model fixed = m.withInputShapes(Map.of("images", new int[] {3, 24, 40}));
    assertEquals(BatchMode.Kind.DYNAMIC, fixed.batch().kind());
    Set<String> ops = fixed.graph().nodes().stream().map(Node::opType).collect(Collectors.toSet());
    for (String gone : List.of("Shape", "Gather", "Cast", "Unsqueeze", "Where", "Equal", "ConstantOfShape", "Constant", "Sigmoid",
        "HardSigmoid")) {
      assertFalse(ops.contains(gone), gone + " is left in " + ops);
    }
    assertTrue(ops.containsAll(Set.of("Silu", "HardSwish", "Split", "Resize", "Reshape", "Softmax", "ReduceSum")), ops.toString());
    assertArrayEquals(new int[] {-1, 6, 24, 40}, fixed.shape(fixed.graph().outputs().get(0)));

    Tensor x = Gaussian.tensor(new Random(1), 3, 3, 24, 40);
    assertMatchesOrt(file, fixed, Map.of("images", x), 3);
    // another size: the same file, prepared again
    Model other = m.withInputShapes(Map.of("images", new int[] {3, 16, 16}));
    assertMatchesOrt(file, other, Map.of("images", Gaussian.tensor(new Random(2), 2, 3, 16, 16)), 2);
  }

  @Test
  void inputShapeErrorsAreListedAtOnce() throws Exception {
    Model m = Model.load(ConverterModels.dynamicDetector(dir.resolve("detector.onnx")));
    String msg = assertThrows(GraphException.class,
        () -> m.withInputShapes(Map.of("images", new int[] {4, 32, 32}, "boxes", new int[] {1}))).getMessage();
    assertTrue(msg.contains("dimension 1 is 3, not 4") && msg.contains("no input 'boxes'") && msg.contains("(its inputs: images)"), msg);
    msg = assertThrows(GraphException.class, () -> m.withInputShapes(Map.of("images", new int[] {32, 32}))).getMessage();
    assertTrue(msg.contains("give the 3 after the batch, not 2"), msg);
  }

  @Test
  void decomposedLayerNormAnd3dMatMulBetweenConvBlocks() throws Exception {
    Path file = ConverterModels.layerNormBlocks(dir.resolve("layernorm.onnx"));
    Model m = Model.load(file);
    assertEquals(new BatchMode(BatchMode.Kind.FREED, 1), m.batch());
    assertTrue(m.graph().nodes().stream().noneMatch(n -> n.opType().equals("Constant")));
    assertArrayEquals(new int[] {-1, 10}, m.shape(m.graph().outputs().get(0)));
    Tensor x = Gaussian.tensor(new Random(3), 4, 3, 16, 16);
    assertMatchesOrt(file, m, Map.of("input", x), 1);
  }

  @Test
  void fixedBatchThatMixesImagesRunsInChunks() throws Exception {
    Path file = ConverterModels.batchMixing(dir.resolve("mixing.onnx"));
    Model m = Model.load(file);
    assertEquals(new BatchMode(BatchMode.Kind.CHUNKED, 2), m.batch());
    assertEquals(2, m.graph().batchChunk());
    assertMatchesOrt(file, m, Map.of("x", Gaussian.tensor(new Random(4), 6, 4, 8, 8)), 2);
    String msg = assertThrows(GraphException.class,
        () -> new Executor(m.graph()).run(Map.of("x", Gaussian.tensor(new Random(5), 3, 4, 8, 8)))).getMessage();
    assertTrue(msg.contains("multiples of 2, not 3"), msg);
  }

  /** Our outputs on the whole batch against ORT's on chunks of {@code chunk} images. */
  static void assertMatchesOrt(Path file, Model m, Map<String, Tensor> feeds, int chunk) throws Exception {
    Map<String, Tensor> ours = new Executor(m.graph(), 2).run(feeds);
    int n = feeds.values().iterator().next().dim(0);
    try (OrtRunner ort = new OrtRunner(file, 1)) {
      for (int from = 0; from < n; from += chunk) {
        Map<String, Tensor> part = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : feeds.entrySet()) part.put(e.getKey(), e.getValue().slice0(from, from + chunk));
        Map<String, Tensor> ref = ort.run(part);
        assertEquals(ref.keySet(), ours.keySet());
        for (String o : ref.keySet()) {
          Tensor want = ref.get(o);
          Tensor got = ours.get(o).slice0(from, from + chunk);
          assertArrayEquals(want.shape(), got.shape(), o);
          double max = 0, ref1 = 0;
          for (int i = 0; i < want.size(); i++) {
            max = Math.max(max, Math.abs(want.data()[i] - got.data()[i]));
            ref1 = Math.max(ref1, Math.abs(want.data()[i]));
          }
          assertTrue(ref1 > 0.01, o + " is degenerate");
          assertTrue(max <= 1e-4, file.getFileName() + " " + o + " images " + from + "..: max |qspark - ORT| = " + max);
        }
      }
    }
  }
}

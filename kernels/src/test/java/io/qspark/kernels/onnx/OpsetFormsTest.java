package io.qspark.kernels.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Gaussian;
import io.qspark.kernels.testing.ConverterModels;
import io.qspark.kernels.testing.OrtRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model imported at opset 9 or 11 and written at opset 13 (as calibrate writes its float and
 * QDQ models) means the same to ONNX Runtime: the ops whose form changed are rewritten
 * ({@link OpsetForms}), and ONNX Runtime's outputs on the written file equal its outputs on the
 * original within float rounding.
 */
class OpsetFormsTest {
  @TempDir Path dir;

  @Test
  void opset9ExportMeansTheSameAtOpset13() throws Exception {
    Path original = ConverterModels.opset9Forms(dir.resolve("opset9.onnx"));
    Model m = Model.load(original);
    Tensor x = Gaussian.tensor(new Random(1), 3, 4, 8, 8);
    assertSameInOrt(original, m, Map.of("x", x));
  }

  @Test
  void converterModelsMeanTheSameAtOpset13() throws Exception {
    Path ln = ConverterModels.layerNormBlocks(dir.resolve("layernorm.onnx"));
    assertSameInOrt(ln, Model.load(ln), Map.of("input", Gaussian.tensor(new Random(2), 1, 3, 16, 16)));
    Path det = ConverterModels.dynamicDetector(dir.resolve("detector.onnx"));
    Model m = Model.load(det).withInputShapes(Map.of("images", new int[] {3, 16, 24}));
    assertSameInOrt(det, m, Map.of("images", Gaussian.tensor(new Random(3), 2, 3, 16, 24)));
  }

  /** ORT on the original file and on the model qspark writes at opset 13 from its import; qspark's own run too. */
  private void assertSameInOrt(Path original, Model m, Map<String, Tensor> feeds) throws Exception {
    Path written = Files.write(dir.resolve("written-" + original.getFileName()),
        OnnxExporter.export(m.graph(), 13, Map.of(), Map.of(), List.of()).toByteArray());
    Map<String, Tensor> want, got;
    try (OrtRunner a = new OrtRunner(original, 1); OrtRunner b = new OrtRunner(written, 1)) {
      want = a.run(feeds);
      got = b.run(feeds);
    }
    Map<String, Tensor> ours = new Executor(m.graph()).run(feeds);
    assertEquals(want.keySet(), got.keySet());
    for (String o : want.keySet()) {
      assertArrayEquals(want.get(o).shape(), got.get(o).shape(), o);
      double ort = 0, qspark = 0, ref = 0;
      for (int i = 0; i < want.get(o).size(); i++) {
        float w = want.get(o).data()[i];
        ort = Math.max(ort, Math.abs(w - got.get(o).data()[i]));
        qspark = Math.max(qspark, Math.abs(w - ours.get(o).data()[i]));
        ref = Math.max(ref, Math.abs(w));
      }
      assertTrue(ref > 0.01, o + " is degenerate");
      assertTrue(ort <= 1e-5, original.getFileName() + " " + o + ": written at 13, ORT differs by " + ort);
      assertTrue(qspark <= 1e-4, original.getFileName() + " " + o + ": qspark differs from ORT by " + qspark);
    }
  }
}

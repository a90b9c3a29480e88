package io.qspark.job.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.TinyNet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Named inputs and outputs of any model; class facts only for a single [N, classes] output. */
class ModelSignatureTest {
  @Test
  void aClassifierHasClassScores(@TempDir Path dir) throws Exception {
    TinyNet t = new TinyNet(-1, 1, 8, 8);
    String flat = t.op("flat", "Flatten", TinyNet.attrs("axis", 1L), t.op("gap", "GlobalAveragePool",
        t.conv("c", "x", 1, 4, 3, 1, 1, 1)));
    Model m = Model.load(t.write(dir.resolve("c.onnx"), t.gemm("fc", flat, 4, 7)));
    ModelSignature s = ModelSignature.of(m);
    assertEquals(List.of("x"), s.inputs().stream().map(ModelSignature.Port::name).toList());
    assertArrayEquals(new int[] {1, 8, 8}, s.inputs().get(0).itemShape());
    assertEquals(7, s.classes());
    assertEquals("fc", s.classScores().orElseThrow().name());
  }

  @Test
  void aModelWithTwoOutputsHasNone(@TempDir Path dir) throws Exception {
    TinyNet t = new TinyNet(-1, 1, 8, 8);
    String c = t.conv("c", "x", 1, 4, 3, 1, 1, 1);
    String flat = t.op("flat", "Flatten", TinyNet.attrs("axis", 1L), t.op("gap", "GlobalAveragePool", c));
    Path f = t.write(dir.resolve("two.onnx"), t.gemm("fc", flat, 4, 7), "c");
    assertTrue(Files.size(f) > 0);
    ModelSignature s = ModelSignature.of(Model.load(f));
    assertEquals(2, s.outputs().size());
    assertTrue(s.classScores().isEmpty());
    assertEquals(0, s.classes());
    assertArrayEquals(new int[] {-1, 4, 8, 8}, s.output("c").orElseThrow().shape());
  }
}

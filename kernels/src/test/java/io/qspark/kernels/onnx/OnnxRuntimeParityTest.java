package io.qspark.kernels.onnx;

import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.ImagenetInputs;
import io.qspark.kernels.testing.OrtRunner;
import io.qspark.kernels.testing.Shared;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * qspark's float executor computes what ONNX Runtime computes, on the same files and inputs.
 * ORT is an independent implementation of the ONNX semantics, so agreement checks the importer
 * (attributes, initializers, opset defaults) and every op at once.
 */
@Tag("slow")
class OnnxRuntimeParityTest {
  private static final double ABS_TOL = 1e-4;
  private static final int ORT_THREADS = 2;

  /** Every top-level *.onnx in shared/models (the Fashion-MNIST models). */
  static List<String> fashionModels() throws IOException {
    try (Stream<Path> s = Files.list(Shared.models())) {
      List<String> files = s.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".onnx"))
          .sorted().toList();
      assertFalse(files.isEmpty(), "no *.onnx in " + Shared.models());
      return files;
    }
  }

  @ParameterizedTest
  @MethodSource("fashionModels")
  void fashionModelMatchesOrt(String file) throws Exception {
    Diff d = compare(Shared.model(file), Shared.testImages(64));
    assertTrue(d.maxAbs() <= ABS_TOL, file + ": " + d);
  }

  @ParameterizedTest
  @ValueSource(strings = {"resnet18.onnx", "mobilenet_v2.onnx", "googlenet.onnx"})
  void imagenetModelMatchesOrt(String file) throws Exception {
    Diff d = compare(Shared.model("imagenet/" + file), ImagenetInputs.testImages(8));
    assertTrue(d.maxAbs() <= ABS_TOL, file + ": " + d);
  }

  /** Largest |qspark - ORT| over all outputs, and the largest |ORT| for scale. */
  record Diff(double maxAbs, double maxRef) {
    @Override
    public String toString() {
      return String.format("max |qspark - ORT| = %.3g, max |ORT| = %.3g, relative %.3g",
          maxAbs, maxRef, maxAbs / maxRef);
    }
  }

  private static Diff compare(Path model, Tensor x) throws Exception {
    Model m = Model.load(model);
    String input = m.graph().inputs().get(0).name();
    Map<String, Tensor> ours = new Executor(m.graph()).run(Map.of(input, x));
    Map<String, Tensor> ref;
    try (OrtRunner ort = new OrtRunner(model, ORT_THREADS)) {
      ref = ort.run(Map.of(input, x));
    }
    assertEquals(ref.keySet(), ours.keySet(), "output names");
    double maxAbs = 0;
    double maxRef = 0;
    for (String name : ref.keySet()) {
      Tensor a = ours.get(name);
      Tensor b = ref.get(name);
      assertArrayEquals(b.shape(), a.shape(), "shape of " + name);
      float[] ad = a.data();
      float[] bd = b.data();
      for (int i = 0; i < ad.length; i++) {
        assertFalse(Float.isNaN(ad[i]) || Float.isNaN(bd[i]), name + "[" + i + "] is NaN");
        maxAbs = Math.max(maxAbs, Math.abs(ad[i] - bd[i]));
        maxRef = Math.max(maxRef, Math.abs(bd[i]));
      }
    }
    Diff d = new Diff(maxAbs, maxRef);
    // all-zero outputs on both sides would agree vacuously (e.g. a broken input builder)
    assertTrue(maxRef > 0.1, model.getFileName() + ": outputs are degenerate, " + d);
    System.out.println("parity " + model.getFileName() + " batch " + x.dim(0) + ": " + d);
    return d;
  }
}

package io.qspark.kernels.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.BatchMode;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.OrtRunner;
import io.qspark.kernels.testing.RealWorld;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Every model of shared/models/realworld (a detector with three heads, a segmenter whose Resize
 * sizes come from Shape/Cast arithmetic, a two-input two-output model, a fixed-batch export)
 * imports and computes what ONNX Runtime computes on every output, within 1e-4, at a batch
 * other than the one a fixed-batch export declares (ONNX Runtime then runs it image by image).
 */
@Tag("slow")
class RealWorldParityTest {
  private static final double ABS_TOL = 1e-4;
  static final List<String> MODELS = RealWorld.MODELS;

  @ParameterizedTest
  @FieldSource("MODELS")
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void everyOutputMatchesOrt(String file) throws Exception {
    Path path = RealWorld.model(file);
    Model m = Model.load(path);
    Map<String, Tensor> feeds = RealWorld.inputs(m, "t10k-images-idx3-ubyte.gz", 0, 3);
    Map<String, Tensor> ours = new Executor(m.graph(), 2).run(feeds);
    int chunk = m.batch().kind() == BatchMode.Kind.DYNAMIC ? 3 : m.batch().size();
    Map<String, Tensor> ref = ortInChunks(path, feeds, chunk, 3);
    assertEquals(ref.keySet(), ours.keySet(), "output names");
    for (String name : ref.keySet()) {
      Tensor a = ours.get(name), b = ref.get(name);
      assertArrayEquals(b.shape(), a.shape(), file + ": shape of " + name);
      double maxAbs = 0, maxRef = 0;
      for (int i = 0; i < a.size(); i++) {
        assertFalse(Float.isNaN(a.data()[i]), file + ": " + name + "[" + i + "] is NaN");
        maxAbs = Math.max(maxAbs, Math.abs(a.data()[i] - b.data()[i]));
        maxRef = Math.max(maxRef, Math.abs(b.data()[i]));
      }
      System.out.printf("parity %s %s: max |qspark - ORT| = %.3g, max |ORT| = %.3g%n", file, name, maxAbs, maxRef);
      assertTrue(maxRef > 0.01, file + ": " + name + " is degenerate (max |ORT| " + maxRef + ")");
      assertTrue(maxAbs <= ABS_TOL, file + ": " + name + " differs from ORT by " + maxAbs);
    }
  }

  /** ORT on consecutive chunks of the feeds, the outputs concatenated along the batch. */
  static Map<String, Tensor> ortInChunks(Path model, Map<String, Tensor> feeds, int chunk, int n) throws Exception {
    List<Map<String, Tensor>> parts = new ArrayList<>();
    try (OrtRunner ort = new OrtRunner(model, 2)) {
      for (int from = 0; from < n; from += chunk) {
        Map<String, Tensor> f = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : feeds.entrySet()) f.put(e.getKey(), e.getValue().slice0(from, from + chunk));
        parts.add(ort.run(f));
      }
    }
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String o : parts.get(0).keySet()) {
      int[] shape = parts.get(0).get(o).shape();
      int per = parts.get(0).get(o).size();
      float[] all = new float[per * parts.size()];
      for (int i = 0; i < parts.size(); i++) System.arraycopy(parts.get(i).get(o).data(), 0, all, i * per, per);
      shape[0] *= parts.size();
      out.put(o, Tensor.of(all, shape));
    }
    return out;
  }
}

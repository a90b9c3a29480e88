package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * resnet_s exported without dynamic_axes (a fixed batch of 1, PyTorch's default) is the same
 * model as the dynamic export: float top-1 93.09 on the 10,000 Fashion-MNIST test images (the
 * figure ../shared/models/README.md gives for resnet_s), and its 8-bit calibration chooses the same
 * fix_point at every quantization point as resnet_s.onnx's on the same images: from the command
 * line, as quant_info.json records them (the kernels' FixedBatchExportTest checks the same at the
 * level of the graph).
 */
@Tag("slow")
class FixedBatchCliTest {

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void floatTop1OnTheTestSet() {
    Run r = Run.of("evaluate", "--model", RealWorldModelsTest.model("resnet_s_static1"), "--data", Shared.fashionMnist("t10k-images-idx3-ubyte.gz").toString(), "--mean",
        "72.94", "--std", "90.02", "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().strip().lines().toList();
    assertEquals("top1: 93.09", lines.get(lines.size() - 1), r.out());
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void sameFixPointsAsTheDynamicExport(@TempDir Path dir) throws Exception {
    String dynamic = Shared.model("resnet_s.onnx").toString();
    List<Integer> fixed = fixPoints(calibrate(RealWorldModelsTest.model("resnet_s_static1"), dir.resolve("static")));
    List<Integer> any = fixPoints(calibrate(dynamic, dir.resolve("dynamic")));
    assertTrue(fixed.size() > 20, fixed.toString());
    assertEquals(any, fixed);
  }

  static Path calibrate(String model, Path out) {
    Run r = Run.of("calibrate", "--model", model, "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02",
        "--calib-size", "500", "--bits", "8", "--out", out.toString(), "--master", "local[2]");
    assertEquals(0, r.code(), r.err());
    return out.resolve("quant_info.json");
  }

  /** Every activation's and parameter's fix_point, in the quant_info's order. */
  @SuppressWarnings("unchecked")
  static List<Integer> fixPoints(Path quantInfo) throws Exception {
    Map<String, Object> q = (Map<String, Object>) Json.read(Files.readString(quantInfo));
    List<Integer> r = new ArrayList<>();
    for (String section : List.of("activations", "params")) {
      for (Object o : (List<Object>) q.get(section)) r.add(((Number) ((Map<String, Object>) o).get("fix_point")).intValue());
    }
    return r;
  }
}

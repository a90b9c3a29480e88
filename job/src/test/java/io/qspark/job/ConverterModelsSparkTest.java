package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.testing.ConverterModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models with the shapes other frameworks' converters emit (built by the kernels' tests, which
 * check them against ONNX Runtime): a detector exported for any image size, fixed by
 * --input-shape, and a fixed-batch model with a decomposed LayerNorm and 3-D MatMuls between conv
 * blocks. Both calibrate, deploy for a DPU target (what it cannot run on the CPU) and simulate
 * with no output value differing from the fake-quant model.
 */
@Tag("slow")
class ConverterModelsSparkTest {
  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void dynamicHeightAndWidthWithInputShape(@TempDir Path dir) throws Exception {
    String model = ConverterModels.dynamicDetector(dir.resolve("detector.onnx")).toString();
    Run refused = Run.of("calibrate", "--model", model, "--data", "synthetic:8", "--out", dir.resolve("no").toString());
    assertEquals(2, refused.code(), refused.err());
    assertTrue(refused.err().contains("--input-shape"), refused.err());
    assertTrue(Files.notExists(dir.resolve("no")));

    // images of their own size fix the dynamic height and width without --input-shape: 28x28
    // Fashion-MNIST resized to 32 (shorter side), the channels the export fixed (3), gray repeated
    Path fromData = dir.resolve("from-data");
    Run d = Run.of("calibrate", "--model", model, "--data", Run.sampleImages(), "--calib-size", "16", "--resize", "32",
        "--gray-to-rgb", "--mean", "127", "--std", "64", "--out", fromData.toString(), "--master", "local[2]");
    assertEquals(0, d.code(), d.err());
    assertTrue(d.err().contains("input 'images' is exported as [N,3,?,?]; fixed to 3,32,32 from the data's images"),
        d.err());
    int[] fixed = io.qspark.kernels.model.Model.load(fromData.resolve("float_model.onnx")).graph().inputs().get(0).shape();
    assertEquals("[3, 32, 32]", java.util.Arrays.toString(java.util.Arrays.copyOfRange(fixed, 1, 4)), "the folder's model");

    Run inspect = Run.of("inspect", "--model", model, "--input-shape", "images=3,32,32");
    assertEquals(0, inspect.code(), inspect.err());
    assertTrue(inspect.out().contains("[N,3,32,32]"), inspect.out());
    Path cal = dir.resolve("calib"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", model, "--input-shape", "images=3,32,32", "--data", "synthetic:16", "--mean",
        "127", "--std", "64", "--out", cal.toString(), "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    assertTrue(c.out().contains("output boxes") || c.out().contains("output "), c.out());
    String summary = deployAndSimulate(cal, dep, List.of("--data", "synthetic:16", "--master", "local[2]"));
    // the pre-13 Softmax, written at 13 with the batch kept first, runs on the CPU between DPU layers
    assertTrue(summary.lines().anyMatch(l -> l.contains("CPU") && l.contains("Softmax")), summary);
  }

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  void decomposedLayerNormAnd3dMatMul(@TempDir Path dir) throws Exception {
    String model = ConverterModels.layerNormBlocks(dir.resolve("layernorm.onnx")).toString();
    Path cal = dir.resolve("calib"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", model, "--data", "synthetic:16", "--mean", "127", "--std", "64", "--out",
        cal.toString(), "--master", "local[2]");
    assertEquals(0, c.code(), c.err());
    String summary = deployAndSimulate(cal, dep, List.of("--data", "synthetic:16", "--master", "local[2]"));
    // the LayerNorm's reductions and the attention-like MatMul/Softmax run on the CPU
    assertTrue(summary.lines().anyMatch(l -> l.contains("CPU") && l.contains("ReduceMean")), summary);
    assertTrue(summary.lines().anyMatch(l -> l.contains("CPU") && l.contains("Softmax")), summary);
  }

  /** deploy --target b4096, then simulate: 0 mismatches over all outputs; returns deploy_model.txt. */
  static String deployAndSimulate(Path cal, Path dep, List<String> data) throws Exception {
    Run d = Run.of("deploy", "--calib", cal.toString(), "--target", "b4096", "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    List<String> args = new java.util.ArrayList<>(List.of("simulate", "--deploy", dep.toString()));
    args.addAll(data);
    Run s = Run.of(args.toArray(new String[0]));
    assertEquals(0, s.code(), s.err());
    assertTrue(s.out().lines().anyMatch(l -> l.equals("mismatches: 0")), s.out());
    assertTrue(s.out().lines().noneMatch(l -> l.startsWith("mismatches ") && !l.endsWith(": 0")), s.out());
    return Files.readString(dep.resolve("deploy_model.txt"));
  }
}

package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.io.Json;
import io.qspark.kernels.testing.TinyNet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * QAT's calibration and validation passes are partitioned by the rule every other command uses,
 * which sizes partitions by the model's input: here a 3x224x224 model. Expected, by hand: a
 * partition holds at most 1024 x 28 x 28 = 802,816 input values and at least 64 images, so
 * 150,528-value images go 64 to a partition; 200 calibration images make 4 partitions and 130
 * validation images 3, rounded up to 4 (a multiple of local[2]'s 2 slots). The rule for 28x28
 * images, which QAT applied to every model before, would make 2 of each.
 */
@Timeout(900)
class QatPartitioningTest {
  @Test
  @SuppressWarnings("unchecked")
  void calibrationAndValidationOfA224ModelAreSizedByItsInput(@TempDir Path dir) throws Exception {
    TinyNet t = new TinyNet(-1, 3, 224, 224);
    String c1 = t.op("r1", "Relu", t.conv("c1", "x", 3, 4, 3, 4, 1, 1));
    String c2 = t.op("r2", "Relu", t.conv("c2", c1, 4, 8, 3, 4, 1, 1));
    String flat = t.op("flat", "Flatten", TinyNet.attrs("axis", 1L), t.op("gap", "GlobalAveragePool", c2));
    Path model = t.write(dir.resolve("tiny224.onnx"), t.gemm("fc", flat, 8, 10));
    Path out = dir.resolve("qat");
    Run r = Run.of("qat", "--model", model.toString(), "--data", "synthetic:200", "--val-data", "synthetic:130,1",
        "--mean", "127", "--std", "64", "--calib-size", "200", "--epochs", "1", "--batch-size", "64", "--micro-batch", "32",
        "--master", "local[2]", "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
    Map<String, Object> parts = (Map<String, Object>) report.get("pass_partitions");
    assertEquals(4L, parts.get("calibration"), report.toString());
    assertEquals(4L, parts.get("validation"), report.toString());
    // settings are JSON, not Java's toString (notebooks read them)
    assertEquals("mse", ((Map<String, Object>) report.get("config")).get("method"));
    assertEquals("sgd", ((Map<String, Object>) report.get("training")).get("optimizer"));
  }
}

package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.data.SyntheticSource;
import io.qspark.job.eval.Classifier;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --data synthetic:N[,SEED]} and the 224x224 models: synthetic images do not depend on
 * partitioning, a full resnet18 calibration runs end to end in local[2] with byte-sized
 * mini-batches, and report.json says what each Spark stage sent to the driver.
 */
@Tag("slow")
class ImagenetSyntheticSparkTest {
  private static final String RESNET18 = Shared.model("imagenet/resnet18.onnx").toString();

  @Test
  void syntheticImagesDependOnlyOnSeedAndIndex(@TempDir Path dir) throws Exception {
    byte[] first = null;
    for (String[] r : new String[][] {{"local[1]", "1"}, {"local[2]", "3"}}) {
      Path out = dir.resolve("p" + r[1]);
      Run run = CalibrateSparkTest.calibrate(Run.sampleModel(), "synthetic:50,7", out, "--master", r[0],
          "--partitions", r[1], "--batch", "16");
      assertEquals(0, run.code(), run.err());
      byte[] info = Files.readAllBytes(out.resolve("quant_info.json"));
      if (first == null) first = info;
      assertArrayEquals(first, info, "quant_info.json with " + r[1] + " partitions");
    }
    LabeledImage a = SyntheticSource.image(7, 3, 784, 10);
    assertArrayEquals(a.pixels(), SyntheticSource.image(7, 3, 784, 10).pixels());
    assertFalse(java.util.Arrays.equals(a.pixels(), SyntheticSource.image(8, 3, 784, 10).pixels()), "the seed matters");
    assertFalse(java.util.Arrays.equals(a.pixels(), SyntheticSource.image(7, 4, 784, 10).pixels()), "the index matters");
  }

  @Test
  void evaluateOnSyntheticDataCountsEveryImage() {
    Run run = Run.of("evaluate", "--model", Run.sampleModel(), "--data", "synthetic:30", "--master", "local[2]",
        "--partitions", "4");
    assertEquals(0, run.code(), run.err());
    assertTrue(run.out().contains("synthetic: 30 random images 1x28x28 (seed 0), random labels"), run.out());
  }

  @Test
  void badSyntheticSpecsAreOneLineErrors() {
    for (String[] c : new String[][] {{"synthetic:0", "N >= 1"}, {"synthetic:ten", "integers"},
        {"synthetic:5,1,2", "synthetic:N[,SEED]"}}) {
      Run run = Run.of("evaluate", "--model", Run.sampleModel(), "--data", c[0]);
      assertEquals(2, run.code(), run.err());
      assertTrue(run.err().strip().lines().count() == 1 && run.err().contains(c[1]), run.err());
    }
    Run crop = Run.of("evaluate", "--model", Run.sampleModel(), "--data", "synthetic:5", "--crop", "20");
    assertEquals(2, crop.code(), crop.err());
    assertTrue(crop.err().contains("--resize/--crop do not apply to synthetic data"), crop.err());
  }

  /** 64 resnet18 images would hold 256 MB of activations per task; the batch shrinks to fit 64 MiB. */
  @Test
  void batchesOf224x224ImagesAreSizedByBytes() {
    Classifier resnet18 = Classifier.of(Model.load(Path.of(RESNET18)).forInference());
    assertEquals((64L << 20) / resnet18.bytesPerImage(), resnet18.batchFor(64));
    assertTrue(resnet18.batchFor(64) < 64 && resnet18.batchFor(64) >= 8, "batch " + resnet18.batchFor(64));
    assertEquals(3, resnet18.batchFor(3));
    Classifier small = Classifier.of(Model.load(Path.of(Run.sampleModel())).forInference());
    assertEquals(64, small.batchFor(64), "28x28 models keep --batch");
  }

  @Test
  @SuppressWarnings("unchecked")
  void resnet18CalibratesEndToEndAndReportsStageTraffic(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("r18");
    Run run = Run.of("calibrate", "--model", RESNET18, "--data", "synthetic:4,1", "--mean", "123.7", "--std", "58.4",
        "--out", out.toString(), "--master", "local[2]", "--partitions", "2");
    assertEquals(0, run.code(), run.err());
    for (String f : List.of("quant_info.json", "quantize_eval_model.onnx", "float_model.onnx", "report.json")) {
      assertTrue(Files.size(out.resolve(f)) > 0, f);
    }
    Map<String, Object> report = (Map<String, Object>) Json.read(Files.readString(out.resolve("report.json")));
    assertEquals(4L, ((Number) report.get("calibration_images")).longValue());
    List<Map<String, Object>> stages = (List<Map<String, Object>>) report.get("spark_stages");
    assertTrue(stages.size() >= 2, "statistics and error pass: " + stages);
    Map<String, Object> stats = stages.stream().filter(s -> String.valueOf(s.get("job")).contains("statistics"))
        .findFirst().orElseThrow(() -> new AssertionError("no statistics stage in " + stages));
    long toDriver = ((Number) stats.get("result_bytes_to_driver")).longValue();
    // two partitions each return a histogram per activation point (20 convs, 8 adds, the pools, ...)
    assertTrue(toDriver > 10_000 && toDriver < 50L << 20, "statistics results to the driver: " + toDriver + " bytes");
    assertTrue(run.err().contains("INFO stages: stage "), "stages are logged: " + run.err());
  }
}

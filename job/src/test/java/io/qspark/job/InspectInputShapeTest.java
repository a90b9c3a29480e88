package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qspark.kernels.testing.ConverterModels;
import io.qspark.kernels.testing.RealWorld;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `inspect` on exports that are not dynamic-batch classifiers: how the model takes its batch
 * (freed, in chunks), and --input-shape for dimensions the export left dynamic.
 */
class InspectInputShapeTest {
  @TempDir Path dir;

  @Test
  void dynamicHeightAndWidthNeedInputShape() throws Exception {
    String model = ConverterModels.dynamicDetector(dir.resolve("detector.onnx")).toString();
    Run bare = Run.of("inspect", "--model", model);
    assertEquals(2, bare.code(), bare.out());
    assertTrue(bare.err().contains("--input-shape images=3,H,W"), bare.err());
    assertEquals(1, bare.err().strip().lines().count(), bare.err());

    Run r = Run.of("inspect", "--model", model, "--input-shape", "images=3,32,48", "--target", "b4096");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("images [N,3,32,48]"), r.out());
    assertTrue(r.out().contains("[N,6,32,48]"), r.out());
    assertTrue(r.out().matches("(?s).*\nbatch +dynamic \\(any batch\\)\n.*"), r.out());
    assertTrue(r.out().contains("Silu"), r.out());
    assertFalse(r.out().contains(" Shape "), r.out());

    Run bad = Run.of("inspect", "--model", model, "--input-shape", "images=4,32,48", "--input-shape", "boxes=1,2,3");
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("dimension 1 is 3, not 4") && bad.err().contains("no input 'boxes'"), bad.err());
    Run syntax = Run.of("inspect", "--model", model, "--input-shape", "images=3,x,48");
    assertEquals(2, syntax.code());
    assertTrue(syntax.err().contains("'x' is not a whole number"), syntax.err());
  }

  @Test
  @Tag("slow") // reads ../shared
  void freedFixedBatchExport() throws Exception {
    Run freed = Run.of("inspect", "--json", "--model", RealWorld.model("resnet_s_static1.onnx").toString());
    assertEquals(0, freed.code(), freed.err());
    JsonNode j = new ObjectMapper().readTree(freed.out());
    assertEquals("freed", j.get("batch").get("mode").asText());
    assertEquals(1, j.get("batch").get("exported").asInt());
    assertEquals("[-1,1,28,28]", j.get("inputs").get(0).get("shape").toString());
  }

  @Test
  void fixedBatchExportThatMixesImagesRunsInChunks() throws Exception {
    Run chunked = Run.of("inspect", "--model", ConverterModels.batchMixing(dir.resolve("mixing.onnx")).toString());
    assertEquals(0, chunked.code(), chunked.err());
    assertTrue(chunked.out().contains("exported as 2, runs in chunks of 2"), chunked.out());
  }
}

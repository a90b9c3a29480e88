package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command (`calibrate --conf conf/sample.yaml`) writes the same
 * quant_info.json, byte for byte, as qspark 0.1.0 did before the application layer existed
 * (checked in from a run of the README's command of then, with the same model, images and
 * preprocessing, at commit f554443), but for the logits' recorded min and max: those came from
 * OpenBLAS's Gemm, whose last bits depend on the CPU it picks its kernel for (the fixture's
 * -5.5546017 / 14.505786 on AMD machines, -5.5546026 / 14.505785 on an Intel one), and since Gemm
 * sums in one fixed order on every CPU ({@code FixedOrderGemm}, 2026-12-07) they are
 * -5.5546026 / 14.505784 everywhere. The model, data and output are given as flags here, since
 * the file's paths are relative to the repository and tests run in job/.
 */
@Timeout(900)
class ReadmeSampleTest {
  @Test
  void calibrateWritesTheQuantInfoJsonItAlwaysWrote(@TempDir Path dir) throws Exception {
    Path repo = Run.samples().getParent();
    Path out = dir.resolve("resnet_s-int8");
    Run r = Run.of("calibrate", "--conf", repo.resolve("conf/sample.yaml").toString(), "--model",
        Run.sampleModel(), "--data", Run.sampleImages(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    byte[] golden = Files.readAllBytes(TestFolders.resource("/io/qspark/job/folders/golden/readme-sample.quant_info.json"));
    assertArrayEquals(golden, Files.readAllBytes(out.resolve("quant_info.json")));
  }
}

package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.testing.TinyNet;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with a Softmax between convs: deploy refuses it without a target (naming the
 * remedy), deploys it with --target b4096 as a float CPU layer, and simulate is bit-exact.
 */
class DeployCpuLayersSparkTest {
  @Test
  void softmaxInTheMiddleRunsAsACpuLayer(@TempDir Path dir) throws Exception {
    TinyNet t = new TinyNet(-1, 1, 28, 28);
    String c1 = t.conv("c1", "x", 1, 8, 3, 2, 1, 1);
    String sm = t.op("sm", "Softmax", TinyNet.attrs("axis", 1L), t.op("r1", "Relu", c1));
    String c2 = t.conv("c2", sm, 8, 8, 3, 2, 1, 1);
    String pool = t.op("pool", "GlobalAveragePool", t.op("r2", "Relu", c2));
    String fc = t.gemm("fc", t.op("flat", "Flatten", pool), 8, 10);
    Path model = t.write(dir.resolve("softmax_mid.onnx"), fc);
    Path calib = dir.resolve("calib"), plain = dir.resolve("plain"), dep = dir.resolve("deploy");
    Run c = Run.of("calibrate", "--model", model.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "100", "--out", calib.toString(), "--master", "local[1]");
    assertEquals(0, c.code(), c.err());

    Run refused = Run.of("deploy", "--calib", calib.toString(), "--out", plain.toString());
    assertEquals(2, refused.code(), refused.err());
    assertTrue(refused.err().contains("no DPU op for Softmax (deploy with --target to run it on the CPU)"), refused.err());
    assertTrue(Files.notExists(plain));

    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString(), "--target", "b4096");
    assertEquals(0, d.code(), d.err());
    String summary = Files.readString(dep.resolve("deploy_model.txt"));
    assertTrue(summary.lines().anyMatch(l -> l.startsWith("sm ") && l.contains("CPU") && l.contains("float Softmax")), summary);

    Run s = Run.of("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--master", "local[2]", "--limit", "300");
    assertEquals(0, s.code(), s.err());
    String[] lines = s.out().strip().split("\\R");
    assertEquals("mismatches: 0", lines[lines.length - 2], s.out());
  }
}

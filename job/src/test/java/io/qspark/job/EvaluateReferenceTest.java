package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qspark.kernels.data.Idx;
import io.qspark.kernels.testing.RealWorld;
import io.qspark.kernels.testing.Shared;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * `evaluate --reference MODEL`: a calibration folder's quantized outputs against another float
 * model of the same inputs and outputs. The folder is resnet_s's 8-bit calibration and the
 * reference mbv2_s, so the figure is far from the folder's own; the expected SQNR is ONNX
 * Runtime's, running the folder's QDQ model and mbv2_s on the same images. A float --model and a
 * reference of other outputs are one-line errors.
 */
class EvaluateReferenceTest {
  static final int IMAGES = 32;

  @Test
  @Timeout(600)
  void outputsAreComparedWithTheReferenceModel(@TempDir Path dir) throws Exception {
    Path cal = dir.resolve("cal");
    Run c = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "64", "--master", "local[2]", "--out", cal.toString());
    assertEquals(0, c.code(), c.err());
    String mbv2 = Shared.model("mbv2_s.onnx").toString();
    Run own = Run.of("evaluate", "--model", cal.toString(), "--data", Run.sampleImages(), "--limit", "" + IMAGES, "--master", "local[2]");
    assertEquals(0, own.code(), own.err());
    Run e = Run.of("evaluate", "--model", cal.toString(), "--data", Run.sampleImages(), "--limit", "" + IMAGES, "--master",
        "local[2]", "--reference", mbv2);
    assertEquals(0, e.code(), e.err());
    assertTrue(e.out().contains("outputs against mbv2_s.onnx"), e.out());

    double expected = ortSqnr(cal.resolve("quantize_eval_model.onnx").toString(), mbv2);
    assertEquals(expected, sqnr(e), 0.05);
    // the folder's own float model is resnet_s: far closer to its quantized self than mbv2_s is
    assertTrue(sqnr(own) > sqnr(e) + 10, own.out() + e.out());
  }

  @Test
  void aFloatModelOrAReferenceOfOtherOutputsIsAOneLineError(@TempDir Path dir) throws Exception {
    Run f = Run.of("evaluate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "8", "--master",
        "local[1]", "--reference", Shared.model("mbv2_s.onnx").toString());
    assertEquals(2, f.code(), f.err());
    assertEquals(1, f.errorLines().size(), f.err());
    assertTrue(f.err().contains("--reference"), f.err());

    Path cal = dir.resolve("cal");
    Run c = Run.of("calibrate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--mean", "72.94", "--std",
        "90.02", "--calib-size", "16", "--master", "local[1]", "--out", cal.toString());
    assertEquals(0, c.code(), c.err());
    Run o = Run.of("evaluate", "--model", cal.toString(), "--data", Run.sampleImages(), "--limit", "8", "--master",
        "local[1]", "--reference", RealWorld.model("siamese2.onnx").toString());
    assertEquals(2, o.code(), o.err());
    assertEquals(1, o.errorLines().size(), o.err());
    assertTrue(o.err().contains("--reference siamese2.onnx has"), o.err());
    assertFalse(Files.exists(dir.resolve("predictions")));
  }

  private static double sqnr(Run r) {
    String line = r.out().lines().filter(l -> l.startsWith("sqnr logits:")).findFirst()
        .orElseThrow(() -> new AssertionError(r.out()));
    return Double.parseDouble(line.substring("sqnr logits:".length()).trim().split("\\s+")[0]);
  }

  /** SQNR in dB of {@code quantized}'s logits against {@code reference}'s on the first IMAGES sample images, by ONNX Runtime. */
  private static double ortSqnr(String quantized, String reference) throws Exception {
    Idx.Array x;
    try (InputStream in = Files.newInputStream(Path.of(Run.sampleImages()))) {
      x = Idx.read(in, "sample", IMAGES);
    }
    int per = 28 * 28;
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    double signal = 0, noise = 0;
    try (OrtSession q = env.createSession(quantized, new OrtSession.SessionOptions());
        OrtSession r = env.createSession(reference, new OrtSession.SessionOptions())) {
      for (int i = 0; i < IMAGES; i++) {
        float[] v = new float[per];
        for (int j = 0; j < per; j++) v[j] = ((x.data()[i * per + j] & 0xff) - Shared.MEAN) / Shared.STD;
        float[] a = run(env, q, v), b = run(env, r, v);
        for (int k = 0; k < a.length; k++) {
          signal += (double) b[k] * b[k];
          noise += ((double) a[k] - b[k]) * ((double) a[k] - b[k]);
        }
      }
    }
    return 10 * Math.log10(signal / noise);
  }

  private static float[] run(OrtEnvironment env, OrtSession s, float[] v) throws Exception {
    try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(v), new long[] {1, 1, 28, 28});
        OrtSession.Result res = s.run(Map.of(s.getInputNames().iterator().next(), t))) {
      return ((float[][]) res.get(0).getValue())[0];
    }
  }
}

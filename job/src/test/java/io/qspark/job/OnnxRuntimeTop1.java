package io.qspark.job;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qspark.kernels.data.Idx;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Top-1 of a single-input classifier on IDX images, computed by ONNX Runtime: an expected value
 * from outside qspark for tests that score a model with qspark.
 */
final class OnnxRuntimeTop1 {
  private OnnxRuntimeTop1() {}

  /** Percent of images whose largest output is the label; input (pixel - mean) / std, NCHW with one channel. */
  static double of(String onnx, String images, String labels, float mean, float std) throws Exception {
    Idx.Array x;
    Idx.Array y;
    try (InputStream a = Files.newInputStream(Path.of(images)); InputStream b = Files.newInputStream(Path.of(labels))) {
      x = Idx.read(a, images, -1);
      y = Idx.read(b, labels, -1);
    }
    int n = x.count(), per = x.itemSize(), h = x.dims()[1], w = x.dims()[2];
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int correct = 0;
    try (OrtSession s = env.createSession(onnx, new OrtSession.SessionOptions())) {
      String input = s.getInputNames().iterator().next();
      for (int i = 0; i < n; i++) {
        float[] v = new float[per];
        for (int j = 0; j < per; j++) v[j] = ((x.data()[i * per + j] & 0xff) - mean) / std;
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(v), new long[] {1, 1, h, w});
            OrtSession.Result r = s.run(Map.of(input, t))) {
          float[] logits = ((float[][]) r.get(0).getValue())[0];
          int best = 0;
          for (int k = 1; k < logits.length; k++) if (logits[k] > logits[best]) best = k;
          if (best == (y.data()[i] & 0xff)) correct++;
        }
      }
    }
    return 100.0 * correct / n;
  }
}

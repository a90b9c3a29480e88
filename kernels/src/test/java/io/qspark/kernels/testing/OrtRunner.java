package io.qspark.kernels.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.qspark.kernels.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ONNX Runtime (CPU) on a model file, fed and read as qspark {@link Tensor}s: the reference
 * the parity test compares against and the baseline the benchmarks divide by.
 */
public final class OrtRunner implements AutoCloseable {
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession session;

  /** @param threads ORT's intra-op pool size; inter-op stays sequential, like qspark's executor */
  public OrtRunner(Path model, int threads) throws OrtException {
    this(model, threads, true);
  }

  /**
   * @param optimize false: the graph as written, without ORT's rewrites (which replace QDQ
   *     patterns by its own integer kernels, another arithmetic than the model's)
   */
  public OrtRunner(Path model, int threads, boolean optimize) throws OrtException {
    try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
      if (!optimize) opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
      opts.setIntraOpNumThreads(threads);
      opts.setInterOpNumThreads(1);
      session = env.createSession(model.toString(), opts);
    }
  }

  /** Every graph output by name, for float inputs fed by name. */
  public Map<String, Tensor> run(Map<String, Tensor> feeds) throws OrtException {
    Map<String, OnnxTensor> in = new HashMap<>();
    try {
      for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
        Tensor t = e.getValue();
        in.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(t.data()), longs(t.shape())));
      }
      Map<String, Tensor> out = new LinkedHashMap<>();
      try (OrtSession.Result r = session.run(in)) {
        for (Map.Entry<String, OnnxValue> e : r) out.put(e.getKey(), toTensor((OnnxTensor) e.getValue()));
      }
      return out;
    } finally {
      for (OnnxTensor t : in.values()) t.close();
    }
  }

  /** The single output of a single-input model. */
  public Tensor run(Tensor x) throws OrtException {
    String input = session.getInputNames().iterator().next();
    Map<String, Tensor> out = run(Map.of(input, x));
    if (out.size() != 1) throw new IllegalStateException("model has " + out.size() + " outputs");
    return out.values().iterator().next();
  }

  private static Tensor toTensor(OnnxTensor t) {
    long[] s = t.getInfo().getShape();
    int[] shape = new int[s.length];
    for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
    FloatBuffer fb = t.getFloatBuffer();
    float[] data = new float[fb.remaining()];
    fb.get(data);
    return Tensor.of(data, shape);
  }

  private static long[] longs(int[] shape) {
    long[] r = new long[shape.length];
    for (int i = 0; i < r.length; i++) r[i] = shape[i];
    return r;
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}

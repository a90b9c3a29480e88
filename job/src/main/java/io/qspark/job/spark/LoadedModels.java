package io.qspark.job.spark;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxImporter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Models ready to run in this JVM, by digest: every task of an executor shares one import
 * (executors are thread-safe), however many partitions and jobs use the model. A few recent
 * models are kept, so a long-lived executor comparing variants does not grow without bound.
 */
final class LoadedModels {
  private static final int KEEP = 4;
  private static final Map<String, Executor> BY_DIGEST = new LinkedHashMap<>(8, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Executor> eldest) {
      return size() > KEEP;
    }
  };

  private LoadedModels() {}

  /** Loading under the lock is deliberate: concurrent tasks wait for one import instead of each doing it. */
  static synchronized Executor get(ModelBlob blob) {
    Executor ex = BY_DIGEST.get(blob.sha256());
    if (ex == null) {
      // Spark runs one task per core; OpenBLAS threads on top would oversubscribe them
      Blas.setThreads(1);
      OnnxImporter.Imported imp = OnnxImporter.parse(blob.onnx(), null, blob.name());
      Model model = Model.prepare(imp.graph(), blob.name(), blob.sha256(), "onnx opset " + imp.opset());
      ex = new Executor(model.graph());
      BY_DIGEST.put(blob.sha256(), ex);
    }
    return ex;
  }
}

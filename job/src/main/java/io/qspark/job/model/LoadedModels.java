package io.qspark.job.model;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Models ready to run in this JVM, by digest: every task of an executor shares one import
 * (executors are thread-safe), however many partitions and jobs use the model. A few recent
 * models are kept, so a long-lived executor comparing variants does not grow without bound.
 */
public final class LoadedModels {
  private static final int KEEP = 4;

  /** A model as tasks use it: the inference graph (BatchNorm folded, activations fused). */
  public record Loaded(Model model, Executor executor, QuantizedModel quantized, Executor quantizedExecutor) {
    /** The model on one batch: fake-quantized for a calibrated model, float otherwise. */
    public UnaryOperator<Tensor> forward() {
      if (quantized == null) return executor::run;
      String out = model.graph().outputs().get(0);
      return x -> quantized.run(quantizedExecutor, Map.of(model.graph().inputs().get(0).name(), x)).get(out);
    }
  }

  private static final Map<String, Loaded> BY_KEY = new LinkedHashMap<>(8, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Loaded> eldest) {
      return size() > KEEP;
    }
  };

  private LoadedModels() {}

  /** The blob's model as every task and the driver run it: imported, BatchNorm folded, activations fused. */
  public static Model inferenceModel(ModelBlob blob) {
    OnnxImporter.Imported imp = OnnxImporter.parse(blob.onnx(), null, blob.name());
    return Model.prepare(imp.graph(), blob.name(), blob.sha256(), "onnx opset " + imp.opset()).forInference();
  }

  /** Loading under the lock is deliberate: concurrent tasks wait for one import instead of each doing it. */
  public static synchronized Loaded get(ModelBlob blob) {
    Loaded l = BY_KEY.get(blob.key());
    if (l == null) {
      // Spark runs one task per core; OpenBLAS threads on top would oversubscribe them
      Blas.setThreads(1);
      Model model = inferenceModel(blob);
      QuantizedModel q = null;
      if (blob.quantInfo() != null) {
        QuantInfo.Parsed info = QuantInfo.read(blob.quantInfo());
        QuantConfig cfg = info.config();
        q = new QuantizedModel(model.graph(), QuantPlan.of(model.graph(), cfg), info.params());
      }
      l = new Loaded(model, new Executor(model.graph()), q, q == null ? null : q.executor(1));
      BY_KEY.put(blob.key(), l);
    }
    return l;
  }
}

package io.qspark.kernels.bench;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What calibration costs over plain inference, as a Spark task runs it: the statistics pass
 * (forward + a histogram update of every activation point) and the fake-quant forward,
 * against the float forward of the same inference graph, all measured in alternation in this
 * JVM. Two tasks of 32 images run at once on their own threads, each with its own buffer, as
 * two Spark task slots would. Issue target: statistics at least 70% of float forward.
 */
@Tag("bench")
class CalibrationBench {
  private static final int THREADS = 2;
  private static final int BATCH = 64;
  private static final String[] MODELS = {"resnet_s.onnx", "mbv2_s.onnx"};

  @Test
  void calibrationThroughput() throws Exception {
    StringBuilder b = new StringBuilder("## Calibration throughput, ").append(THREADS)
        .append(" tasks x ").append(BATCH / THREADS).append(" images, medians (images/s)\n\n")
        .append("| model | float forward | statistics pass | ratio | fake-quant forward | ratio |\n")
        .append("|---|---|---|---|---|---|\n");
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      for (String file : MODELS) {
        Model m = Model.load(Shared.model(file)).forInference();
        String in = m.graph().inputs().get(0).name();
        QuantConfig cfg = QuantConfig.defaults();
        QuantPlan plan = QuantPlan.of(m.graph(), cfg);
        Executor ex = new Executor(m.graph());
        Tensor x = Shared.images("train-images-idx3-ubyte.gz", BATCH);
        ActivationStats warm = new ActivationStats();
        ex.run(Map.of(in, x), warm.observer(plan), false);
        QuantizedModel qm = new QuantizedModel(m.graph(), plan, QuantParams.decide(m.graph(), plan, warm.histograms(), cfg));
        Executor qex = qm.executor(1);
        List<Tensor> shares = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) shares.add(x.slice0(t * BATCH / THREADS, (t + 1) * BATCH / THREADS));
        List<ActivationStats> buffers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) buffers.add(new ActivationStats());
        Timing.Action floatPass = () -> parallel(pool, shares, (i, s) -> ex.run(Map.of(in, s), TensorObserver.NONE, false));
        Timing.Action statsPass = () -> parallel(pool, shares, (i, s) -> ex.run(Map.of(in, s), buffers.get(i).observer(plan), false));
        Timing.Action quantPass = () -> parallel(pool, shares, (i, s) -> qm.run(qex, Map.of(in, s)));
        List<Timing.Samples> r = Timing.interleaved(List.of(floatPass, statsPass, quantPass));
        double f = BATCH / r.get(0).median(), s = BATCH / r.get(1).median(), q = BATCH / r.get(2).median();
        b.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f | %.0f | %.2f |%n",
            file.replace(".onnx", ""), f, s, s / f, q, q / f));
      }
    } finally {
      pool.shutdown();
    }
    b.append("\nload average before: ").append(BenchReport.loadAverage()).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "calibration.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }

  private interface Work {
    Object run(int index, Tensor share) throws Exception;
  }

  private static void parallel(ExecutorService pool, List<Tensor> shares, Work w) throws Exception {
    List<Future<Object>> f = new ArrayList<>();
    for (int i = 0; i < shares.size(); i++) {
      int idx = i;
      f.add(pool.submit(() -> w.run(idx, shares.get(idx))));
    }
    for (Future<Object> x : f) x.get();
  }
}

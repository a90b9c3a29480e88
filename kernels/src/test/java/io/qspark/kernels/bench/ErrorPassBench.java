package io.qspark.kernels.bench;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantError;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What the exact SQNR sums cost in calibration's error pass: QuantError.add (float forward,
 * fake-quant forward, exact sums of squares at every activation point, argmaxes) against the two
 * forwards alone, alternating in this JVM, one thread, 32 images.
 */
@Tag("bench")
class ErrorPassBench {
  private static final int BATCH = 32;

  @Test
  void exactSumsAgainstTheForwards() throws Exception {
    StringBuilder b = new StringBuilder("## Error pass: exact SQNR sums, 1 thread x ").append(BATCH)
        .append(" images, medians (images/s)\n\n| model | float + fake-quant forwards | QuantError.add | ratio |\n|---|---|---|---|\n");
    for (String file : new String[] {"resnet_s.onnx", "mbv2_s.onnx"}) {
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
      Timing.Action forwards = () -> {
        ex.run(Map.of(in, x), TensorObserver.NONE, true);
        qex.run(Map.of(in, x), qm.fakeQuant(), true);
      };
      Timing.Action error = () -> new QuantError().add(ex, qm, qex, x, null);
      List<Timing.Samples> r = Timing.interleaved(List.of(forwards, error));
      double f = BATCH / r.get(0).median(), e = BATCH / r.get(1).median();
      b.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f |%n", file.replace(".onnx", ""), f, e, e / f));
    }
    b.append("\nload average: ").append(BenchReport.loadAverage()).append('\n');
    System.out.println(b);
    Path out = Path.of("target", "bench", "error-pass.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }
}

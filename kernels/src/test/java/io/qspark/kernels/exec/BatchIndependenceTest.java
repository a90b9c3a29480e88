package io.qspark.kernels.exec;

import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every image's values, float and fake-quant, at every node, are bit-identical whatever batch
 * it runs in: Spark partitions and --batch cut the data anywhere, and calibration, bias
 * correction and the simulator's comparisons rely on it.
 */
@Tag("slow")
class BatchIndependenceTest {
  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx", "mbv2_s.onnx"})
  void valuesDoNotDependOnTheBatch(String file) throws Exception {
    Model m = Model.load(Shared.model(file)).forInference();
    String in = m.graph().inputs().get(0).name();
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", 40);
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    Executor ex = new Executor(m.graph());
    ex.run(Map.of(in, x), stats.observer(plan), false);
    QuantizedModel qm = new QuantizedModel(m.graph(), plan, QuantParams.decide(m.graph(), plan, stats.histograms(), cfg));
    Executor qex = qm.executor(1);
    for (boolean quantized : new boolean[] {false, true}) {
      Map<String, Tensor> whole = run(quantized ? qex : ex, quantized ? qm.fakeQuant() : TensorObserver.NONE, in, x);
      int[][] cuts = {{0, 17}, {17, 34}, {34, 40}};
      for (int[] c : cuts) {
        Map<String, Tensor> part = run(quantized ? qex : ex, quantized ? qm.fakeQuant() : TensorObserver.NONE, in, x.slice0(c[0], c[1]));
        for (Map.Entry<String, Tensor> e : part.entrySet()) {
          Tensor w = whole.get(e.getKey());
          if (w == null || !w.isFloat() || w.dim(0) != x.dim(0)) continue;
          float[] a = w.slice0(c[0], c[1]).data(), b = e.getValue().data();
          int diff = 0, first = -1;
          for (int i = 0; i < a.length; i++) {
            if (Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i])) {
              if (first < 0) first = i;
              diff++;
            }
          }
          assertEquals(0, diff, (quantized ? "fake-quant " : "float ") + e.getKey() + " images " + c[0] + ".." + c[1]
              + ": " + diff + " values differ from the batch of 40, first at " + first);
        }
      }
    }
  }

  private static Map<String, Tensor> run(Executor ex, TensorObserver obs, String in, Tensor x) {
    Map<String, Tensor> all = new LinkedHashMap<>();
    ex.run(Map.of(in, x), (node, name, v) -> {
      Tensor t = obs.onValue(node, name, v);
      all.put(name, t);
      return t;
    }, false);
    return all;
  }
}

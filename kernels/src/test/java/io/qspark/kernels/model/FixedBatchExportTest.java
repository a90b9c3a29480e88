package io.qspark.kernels.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.RealWorld;
import io.qspark.kernels.testing.Shared;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * resnet_s exported with a fixed batch of 1 (PyTorch's default, no dynamic_axes) behaves as
 * the dynamic export: it runs any batch with the bits it gives image by image, and its 8-bit
 * calibration chooses the same fix_points as resnet_s.onnx's. (Float top-1 on the 10,000 test
 * images: SharedModelsTop1Test.)
 */
@Tag("slow")
class FixedBatchExportTest {
  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void anyBatchGivesTheBitsOfTheExportRunImageByImage() throws Exception {
    Model m = Model.load(RealWorld.model("resnet_s_static1.onnx"));
    assertEquals(new BatchMode(BatchMode.Kind.FREED, 1), m.batch());
    Graph exported = OnnxImporter.load(RealWorld.model("resnet_s_static1.onnx")).graph();
    Tensor x = Shared.testImages(37);
    float[] batched = new Executor(m.graph(), 2).run(x).data();
    Executor one = new Executor(exported);
    for (int i = 0; i < 37; i++) {
      float[] y = one.run(x.slice0(i, i + 1)).data();
      for (int c = 0; c < y.length; c++) {
        assertEquals(Float.floatToIntBits(y[c]), Float.floatToIntBits(batched[i * y.length + c]), "image " + i + " logit " + c);
      }
    }
    // and the dynamic export's values, up to the rounding of PyTorch's BatchNorm folding in the static file
    float[] dynamic = new Executor(Model.load(Shared.model("resnet_s.onnx")).graph()).run(x).data();
    double max = 0;
    for (int i = 0; i < dynamic.length; i++) max = Math.max(max, Math.abs(dynamic[i] - batched[i]));
    assertTrue(max < 1e-4, "max |static - dynamic| = " + max);
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void calibrationChoosesTheFixPointsOfTheDynamicExport() throws Exception {
    QuantConfig cfg = QuantConfig.defaults();
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 1000);
    List<Integer> dynamic = fixPoints(Model.load(Shared.model("resnet_s.onnx")).forInference().graph(), cfg, calib);
    List<Integer> fixed = fixPoints(Model.load(RealWorld.model("resnet_s_static1.onnx")).forInference().graph(), cfg, calib);
    assertEquals(dynamic, fixed);
  }

  /** Every activation's fix_point in plan order, then every weight's and bias's in plan order. */
  private static List<Integer> fixPoints(Graph g, QuantConfig cfg, Tensor calib) {
    QuantPlan plan = QuantPlan.of(g, cfg);
    ActivationStats stats = new ActivationStats();
    Executor ex = new Executor(g);
    for (int i = 0; i < calib.dim(0); i += 250) {
      ex.run(Map.of(g.inputs().get(0).name(), calib.slice0(i, i + 250)), stats.observer(plan), false);
    }
    QuantParams p = QuantParams.decide(g, plan, stats.histograms(), cfg);
    List<Integer> r = new ArrayList<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) r.add(p.activation(a.name()).fixPoint());
    for (QuantPlan.ParamPoint w : plan.params()) r.add(p.params().get(w.name()).fixPoint());
    assertEquals(plan.activations().size() + plan.params().size(), r.size());
    return r;
  }

}

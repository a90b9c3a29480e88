package io.qspark.dpu;

import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.Granularity;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.ScaleKind;
import io.qspark.kernels.testing.Shared;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Calibrations for non-DPU targets are refused at once, with every reason on one line. */
@Tag("slow")
class NonDpuRefusedTest {
  @ParameterizedTest
  @CsvSource({"per-channel,power-of-two", "per-tensor,float", "per-channel,float"})
  void perChannelOrFloatScalesAreRefused(String granularity, String scales) throws Exception {
    Model m = Model.load(Shared.model("resnet_s.onnx")).forInference();
    QuantConfig cfg = QuantConfig.defaults().withTarget(Granularity.parse(granularity), ScaleKind.parse(scales));
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), Shared.images("train-images-idx3-ubyte.gz", 20)),
        stats.observer(plan), false);
    QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
    DeployException e = assertThrows(DeployException.class, () -> DeployCompiler.compile(m.graph(), cfg, params, "x"));
    String msg = e.getMessage();
    assertFalse(msg.contains("\n"), msg);
    assertTrue(msg.contains("--weight-granularity") == granularity.equals("per-channel"), msg);
    assertTrue(msg.contains("--scales") == scales.equals("float"), msg);
  }
}

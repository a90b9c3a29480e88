package io.qspark.job;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * A calibration folder of the bundled resnet_s (quant_info.json, float_model.onnx) made in this
 * JVM without Spark, from 16 random inputs: what deploy reads, for tests of deploy and simulate
 * that fail before any Spark job.
 */
final class CalibrationFixture {
  private CalibrationFixture() {}

  static Path write(Path dir) throws IOException {
    Path sample = Path.of(Run.sampleModel());
    Model m = Model.load(sample).forInference();
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    Random r = new Random(5);
    float[] x = new float[16 * 28 * 28];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), Tensor.of(x, 16, 1, 28, 28)), stats.observer(plan), false);
    QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("quant_info.json"), QuantInfo.write("resnet_s.onnx", m.sha256(), cfg, plan, params, stats, m.graph()));
    Files.copy(sample, dir.resolve("float_model.onnx"));
    return dir;
  }
}

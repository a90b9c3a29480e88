package io.qspark.kernels.train;

import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * AdaRound in the kernels: each model's inference graph calibrated (mse) on the first 1,000
 * Fashion-MNIST training images, then AdaRound on the same images, 2 shards on 2 threads (what
 * a 2-partition Spark job computes, and, AdaRound being exact, any other partitioning too),
 * top-1 on the 10,000 test images, with AdaRound's time by phase.
 *
 * <p>{@code -Dqspark.bench.adaround.models=resnet_s,mbv2_s}, {@code .configs=W4A4,W4A4B8} (B8:
 * 8-bit biases), {@code .layers=':input=8;:last=8'} (per-layer widths over the config), and the options
 * {@code .steps, .lr, .per, .check, .reg, .warmup, .beta=20,2}; {@code .holdout=true} scores held-out training
 * images instead of the test set.
 */
@Tag("bench")
class AdaRoundBench {
  static QuantConfig config(String c) {
    QuantConfig q = QuantConfig.defaults().withBits(Integer.parseInt(c.substring(1, 2)));
    if (c.contains("A8")) {
      q = new QuantConfig(new QuantConfig.Widths(q.weightBits(), 8, q.biasBits()), q.method(), q.percentile(),
          q.activationRounding(), q.weightRounding(), q.region(), QuantConfig.Scheme.DPU, List.of());
    }
    int b = c.indexOf('B');
    if (b >= 0) q = q.withBiasBits(Integer.parseInt(c.substring(b + 1)));
    String layers = System.getProperty("qspark.bench.adaround.layers", "");
    return layers.isEmpty() ? q : q.withLayers(io.qspark.kernels.quant.LayerRule.parseAll(java.util.List.of(layers.split(";"))));
  }

  static AdaRoundOptions options() {
    AdaRoundOptions d = AdaRoundOptions.defaults();
    String[] beta = System.getProperty("qspark.bench.adaround.beta", d.betaStart() + "," + d.betaEnd()).split(",");
    return d.withSteps(Integer.getInteger("qspark.bench.adaround.steps", d.steps()))
        .withLr(Double.parseDouble(System.getProperty("qspark.bench.adaround.lr", "" + d.lr())))
        .withImagesPerStep(Integer.getInteger("qspark.bench.adaround.per", d.imagesPerStep()))
        .withCheckImages(Integer.getInteger("qspark.bench.adaround.check", d.checkImages()))
        .withRegularization(Double.parseDouble(System.getProperty("qspark.bench.adaround.reg", "" + d.regularization())))
        .withWarmup(Double.parseDouble(System.getProperty("qspark.bench.adaround.warmup", "" + d.warmup())))
        .withBeta(Double.parseDouble(beta[0]), Double.parseDouble(beta[1]));
  }

  @Test
  void top1AndTime() throws Exception {
    AdaRoundOptions opt = options();
    StringBuilder b = new StringBuilder("## AdaRound\n\n").append(io.qspark.kernels.bench.BenchReport.header())
        .append("Load average before: ").append(io.qspark.kernels.bench.BenchLoad.now()).append("\n\n").append(opt)
        .append("\n\n| model | config | PTQ (mse) | AdaRound | layers kept | AdaRound s | by phase (s) |\n|---|---|---:|---:|---:|---:|---|\n");
    // -Dqspark.bench.adaround.holdout=true: training images 50,000-59,999 (calibration takes the
    // first 1,000), for choosing settings without looking at the test set
    boolean holdout = Boolean.getBoolean("qspark.bench.adaround.holdout");
    Tensor test = holdout ? Shared.images("train-images-idx3-ubyte.gz", 60_000).slice0(50_000, 60_000) : Shared.testImages(10_000);
    int[] labels = holdout ? java.util.Arrays.copyOfRange(Shared.labels("train-labels-idx1-ubyte.gz", 60_000), 50_000, 60_000)
        : Shared.testLabels(10_000);
    if (holdout) b.append("Top-1 on held-out training images 50,000-59,999, not the test set.\n\n");
    for (String m : System.getProperty("qspark.bench.adaround.models", "resnet_s,mbv2_s").split(",")) {
      for (String c : System.getProperty("qspark.bench.adaround.configs", "W4A4,W4A4B8").split(",")) {
        AdaQuantTest.Setup s = AdaQuantTest.calibrate(m + ".onnx", config(c));
        double ptq = AdaQuantTest.top1(s.graph(), s.plan(), s.params(), test, labels);
        long t0 = System.nanoTime();
        AdaRound.Result r;
        AdaQuantBench.TimedShards timed = new AdaQuantBench.TimedShards(new LocalShards(s.graph(), s.plan(), s.calib(), 2, 2, opt));
        try (timed) {
          r = AdaRound.run(s.graph(), s.plan(), s.params(), s.cfg(), opt, timed,
              Boolean.getBoolean("qspark.bench.adaround.log") ? System.out::println : null);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double tuned = AdaQuantTest.top1(r.graph(), s.plan(), r.params(), test, labels);
        long kept = r.layers().stream().filter(LayerReport::kept).count();
        String row = String.format(Locale.ROOT, "| %s | %s | %.2f | %.2f | %d / %d | %.0f | %s |%n", m, c, ptq, tuned, kept,
            r.layers().size(), secs, timed.summary());
        System.out.print(row);
        b.append(row);
      }
    }
    b.append("\nLoad average after: ").append(io.qspark.kernels.bench.BenchLoad.now()).append('\n');
    Path out = Path.of("target", "bench", "adaround.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
    System.out.println(b);
  }
}

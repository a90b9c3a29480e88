package io.qspark.kernels.train;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * AdaQuant's cost and effect. Time: fine-tuning resnet_s on 1,000 images with the default
 * options against calibrating it (statistics pass + fix_point decisions) on the same images,
 * in the same JVM, both on 2 threads (2 shards / batch halves), calibration timed before and
 * after; the ratio is the figure. Top-1: PTQ and PTQ + AdaQuant on the 10,000 test images per
 * model and width ({@code -Dqspark.bench.adaquant.models=resnet_s,...} and
 * {@code -Dqspark.bench.adaquant.configs=W4A4,...} select rows).
 */
@Tag("bench")
class AdaQuantBench {
  private static final Map<String, Double> FLOAT = Map.of("resnet_s", 93.09, "mbv2_s", 92.05, "resnet_s_imb", 93.09);

  static QuantConfig config(String name) {
    switch (name) {
      case "W4A4": return QuantConfig.defaults().withBits(4);
      case "W4A8": return QuantConfig.defaults().withWidths(4, 8, 4);
      case "8b": return QuantConfig.defaults();
      case "6b": return QuantConfig.defaults().withBits(6);
      default: throw new IllegalArgumentException(name);
    }
  }

  private static double calibrationSeconds(AdaQuantTest.Setup s) {
    long t0 = System.nanoTime();
    QuantPlan plan = QuantPlan.of(s.graph(), s.cfg());
    ActivationStats stats = new ActivationStats();
    Executor ex = new Executor(s.graph(), 2);
    String in = s.graph().inputs().get(0).name();
    for (int i = 0; i < s.calib().dim(0); i += 100) ex.run(Map.of(in, s.calib().slice0(i, i + 100)), stats.observer(plan), false);
    QuantParams.decide(s.graph(), plan, stats.histograms(), s.cfg());
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Wall time per Shards call, to see where fine-tuning's time goes. */
  static final class TimedShards implements Shards {
    private final Shards s;
    private final Map<String, Double> secs = new java.util.LinkedHashMap<>();

    TimedShards(Shards s) {
      this.s = s;
    }

    private <T> T time(String what, java.util.function.Supplier<T> f) {
      long t0 = System.nanoTime();
      T r = f.get();
      secs.merge(what, (System.nanoTime() - t0) / 1e9, Double::sum);
      return r;
    }

    String summary() {
      StringBuilder b = new StringBuilder();
      secs.forEach((k, v) -> b.append(String.format(Locale.ROOT, "%s %.1f, ", k, v)));
      return b.toString();
    }

    @Override public void start(Decided d) { time("start", () -> { s.start(d); return null; }); }
    @Override public void advance(int layer, Decided d) { time("advance", () -> { s.advance(layer, d); return null; }); }
    @Override public GradientSum gradient(int layer, LayerWeights lw, int step) { return time("gradient", () -> s.gradient(layer, lw, step)); }
    @Override public LayerOutput output(int layer, LayerWeights lw) { return time("output", () -> s.output(layer, lw)); }
    @Override public double endToEnd(Decided d) { return time("endToEnd", () -> s.endToEnd(d)); }
    @Override public long images() { return s.images(); }
    @Override public ExactGradient exactGradient(int layer, LayerWeights lw, ImageOrder order, long from, int count) {
      return time("gradient", () -> s.exactGradient(layer, lw, order, from, count));
    }
    @Override public double endToEndExact(Decided d, ImageOrder order, long limit) {
      return time("endToEnd", () -> s.endToEndExact(d, order, limit));
    }
    @Override public void close() { s.close(); }
  }

  @Test
  void timeAndTop1() throws Exception {
    StringBuilder b = new StringBuilder("## AdaQuant\n\nLoad average before: " + io.qspark.kernels.bench.BenchLoad.now() + "\n\n");
    AdaQuantOptions d = AdaQuantOptions.defaults();
    AdaQuantOptions opt = d.withSteps(Integer.getInteger("qspark.bench.adaquant.steps", d.steps()))
        .withImagesPerStep(Integer.getInteger("qspark.bench.adaquant.per", d.imagesPerStep()))
        .withCheckImages(Integer.getInteger("qspark.bench.adaquant.check", d.checkImages()))
        .withLrScale(Double.parseDouble(System.getProperty("qspark.bench.adaquant.lr", Double.toString(d.lrScale()))));
    if (Boolean.parseBoolean(System.getProperty("qspark.bench.adaquant.time", "true"))) {
      AdaQuantTest.Setup s = AdaQuantTest.calibrate("resnet_s.onnx", 4);
      calibrationSeconds(s); // warm-up
      List<Double> calib = new ArrayList<>();
      calib.add(calibrationSeconds(s));
      long t0 = System.nanoTime();
      TimedShards timed = new TimedShards(new LocalShards(s.graph(), s.plan(), s.calib(), 2, 2, opt));
      try (timed) {
        AdaQuant.run(s.graph(), s.plan(), s.params(), s.cfg(), opt, timed, null);
      }
      double aq = (System.nanoTime() - t0) / 1e9;
      b.append("AdaQuant's time by phase (s): ").append(timed.summary()).append("\n\n");
      calib.add(calibrationSeconds(s));
      double c = (calib.get(0) + calib.get(1)) / 2;
      b.append(String.format(Locale.ROOT, "resnet_s, %d images, W4A4, %s: calibration %.2f s (%.2f, %.2f), AdaQuant %.1f s, ratio **%.1fx**%n%n",
          s.calib().dim(0), opt, c, calib.get(0), calib.get(1), aq, aq / c));
      System.out.print(b);
    }
    String[] models = System.getProperty("qspark.bench.adaquant.models", "resnet_s,mbv2_s,resnet_s_imb").split(",");
    String[] configs = System.getProperty("qspark.bench.adaquant.configs", "W4A4,W4A8,8b,6b").split(",");
    b.append(opt).append("\n\n| model | float | config | PTQ (mse) | AdaQuant | layers kept | AdaQuant s |\n|---|---:|---|---:|---:|---:|---:|\n");
    Tensor test = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    for (String m : models) {
      for (String c : configs) {
        if (m.isEmpty() || c.isEmpty()) continue;
        AdaQuantTest.Setup s = AdaQuantTest.calibrate(m + ".onnx", config(c));
        double ptq = AdaQuantTest.top1(s.graph(), s.plan(), s.params(), test, labels);
        long t0 = System.nanoTime();
        AdaQuant.Result r;
        try (LocalShards shards = new LocalShards(s.graph(), s.plan(), s.calib(), 2, 2, opt)) {
          r = AdaQuant.run(s.graph(), s.plan(), s.params(), s.cfg(), opt, shards, null);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double tuned = AdaQuantTest.top1(r.graph(), s.plan(), r.params(), test, labels);
        long kept = r.layers().stream().filter(LayerReport::kept).count();
        String row = String.format(Locale.ROOT, "| %s | %.2f | %s | %.2f | %.2f | %d / %d | %.0f |%n", m, FLOAT.get(m), c, ptq, tuned,
            kept, r.layers().size(), secs);
        System.out.print(row);
        b.append(row);
      }
    }
    b.append("\nLoad average after: ").append(io.qspark.kernels.bench.BenchLoad.now()).append('\n');
    Path out = Path.of("target", "bench", "adaquant.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
    System.out.println(b);
  }
}

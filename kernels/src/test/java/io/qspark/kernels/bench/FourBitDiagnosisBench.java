package io.qspark.kernels.bench;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.LayerRule;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantizedModel;
import java.util.Map;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.Top1;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where the 4-bit error comes from: per quantization point, the top-1 with only that point at
 * 4 bits and everything else at 8 (W8A8, 8-bit biases), through the same per-layer width rules
 * ({@link LayerRule}) the command line takes; then W4A4 with 8-bit biases with candidate
 * points kept at 8 bits. Calibration (mse) on the first 1,000 Fashion-MNIST training images,
 * top-1 on the 10,000 test images, in this JVM.
 *
 * <p>{@code -Dqspark.bench.diagnosis.models=resnet_s,mbv2_s}; {@code -Dqspark.bench.diagnosis.points=false}
 * skips the per-point rows; {@code -Dqspark.bench.diagnosis.presets='R1;R2|R3'} adds W4A4B8
 * rows with these rules (| between rows, ; between rules).
 */
@Tag("bench")
class FourBitDiagnosisBench {
  private static final String[] PRESETS = {":input=8", ":last=8", ":input=8;:last=8", ":input=8;:first=8;:last=8"};

  @Test
  void diagnosis() throws Exception {
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 1000);
    Tensor test = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    StringBuilder b = new StringBuilder("## 4-bit diagnosis\n\n").append(BenchReport.header()).append("Load average before: ")
        .append(BenchLoad.now()).append("\n\n");
    QuantConfig w8 = QuantConfig.defaults();
    QuantConfig w4 = QuantConfig.defaults().withBits(4).withBiasBits(8);
    List<String> presets = new ArrayList<>(List.of(PRESETS));
    String extra = System.getProperty("qspark.bench.diagnosis.presets", "");
    if (!extra.isEmpty()) presets.addAll(List.of(extra.split("\\|")));
    for (String m : System.getProperty("qspark.bench.diagnosis.models", "resnet_s,mbv2_s").split(",")) {
      Graph g = Model.load(Shared.model(m + ".onnx")).forInference().graph();
      double base = top1(g, w8, calib, test, labels);
      b.append("### ").append(m).append("\n\nW8A8 (8-bit biases): ").append(f(base)).append(", W4A4 with 8-bit biases: ")
          .append(f(top1(g, w4, calib, test, labels))).append("\n\n");
      flush(b);
      if (!"false".equals(System.getProperty("qspark.bench.diagnosis.points"))) {
        b.append("| point | what | top-1, only it at 4 bits | change |\n|---|---|---:|---:|\n");
        QuantPlan plan = QuantPlan.of(g, w8);
        for (QuantPlan.ActivationPoint a : plan.activations()) {
          String rule = Pattern.quote(a.name());
          double t = top1(g, w8.withLayers(List.of(LayerRule.bits(rule, 0, 4, 0))), calib, test, labels);
          b.append(String.format(Locale.ROOT, "| %s | %s | %s | %+.2f |%n", a.name(), what(g, a), f(t), t - base));
          flush(b);
        }
        for (QuantPlan.ParamPoint p : plan.params()) {
          if (p.role() != QuantPlan.Role.WEIGHT) continue;
          String rule = Pattern.quote(p.node());
          double t = top1(g, w8.withLayers(List.of(LayerRule.bits(rule, 4, 0, 0))), calib, test, labels);
          b.append(String.format(Locale.ROOT, "| %s | weights of %s | %s | %+.2f |%n", p.name(), op(g, p.node()), f(t), t - base));
          flush(b);
        }
        b.append('\n');
      }
      b.append("| W4A4, 8-bit biases, and | top-1 |\n|---|---:|\n");
      for (String preset : presets) {
        List<LayerRule> rules = new ArrayList<>();
        for (String r : preset.split(";")) rules.add(LayerRule.parse(r));
        b.append("| `").append(preset).append("` | ").append(f(top1(g, w4.withLayers(rules), calib, test, labels))).append(" |\n");
        flush(b);
      }
      b.append('\n');
    }
    b.append("Load average after: ").append(BenchLoad.now()).append('\n');
    flush(b);
    System.out.println(b);
  }

  /** The float model's histograms do not depend on the widths: one statistics pass per model. */
  private static ActivationStats stats;
  private static Graph statsOf;

  private static double top1(Graph g, QuantConfig cfg, Tensor calib, Tensor test, int[] labels) {
    QuantPlan plan = QuantPlan.of(g, cfg);
    if (statsOf != g) {
      stats = new ActivationStats();
      Executor ex = new Executor(g);
      String in = g.inputs().get(0).name();
      for (int i = 0; i < calib.dim(0); i += 100) ex.run(Map.of(in, calib.slice0(i, i + 100)), stats.observer(plan), false);
      statsOf = g;
    }
    return Top1.quantized(new QuantizedModel(g, plan, QuantParams.decide(g, plan, stats.histograms(), cfg)), test, labels);
  }

  private static String f(double x) {
    return String.format(Locale.ROOT, "%.2f", x);
  }

  /** The op that writes a point's deciding value (with its fused activation), or "network input". */
  private static String what(Graph g, QuantPlan.ActivationPoint a) {
    Node p = g.producer(a.name());
    return p == null ? "network input" : describe(p);
  }

  private static String op(Graph g, String node) {
    for (Node n : g.nodes()) if (n.name().equals(node)) return describe(n);
    return node;
  }

  private static String describe(Node n) {
    Activation a = Activation.fused(n.attributes());
    String kind = n.opType();
    if (kind.equals("Conv") && n.attributes().getInt("group", 1) > 1) kind = "depthwise Conv";
    return kind + (a == null ? "" : " + " + a.opType());
  }

  private static void flush(StringBuilder b) throws java.io.IOException {
    Path out = Path.of("target", "bench", "four-bit-diagnosis.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, b.toString());
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The stride-1 weight gradient ({@link ShiftedFilterGrad}) against the im2col weight gradient it
 * replaced and against the forward Conv, on every distinct stride-1 conv shape of resnet_s and
 * mbv2_s with 64 images (a QAT micro-batch), one thread, rounds alternating the three in one JVM.
 * "dW" is ConvGrad's backward without the input gradient: dW, dB and the activation's gradient.
 * Per shape: medians of the rounds (ms per 64 images) and their ratios; per model, the sums
 * weighted by how often each shape occurs, in thread-ms per image.
 */
@Tag("bench")
class ConvGradBench {
  private static final int N = 64, ROUNDS = 9;

  private record Shape(Attributes attrs, int c, int h, int w, int[] wShape, String key) {}

  @Test
  void weightGradient() throws Exception {
    StringBuilder out = new StringBuilder();
    for (String model : new String[] {"resnet_s", "mbv2_s"}) {
      Map<String, Integer> count = new LinkedHashMap<>();
      Map<String, Shape> shapes = new LinkedHashMap<>();
      Graph g = Model.load(Shared.model(model + ".onnx")).graph();
      Map<String, int[]> inferred = ShapeInference.infer(g);
      for (Node node : g.nodes()) {
        if (!node.opType().equals("Conv")) continue;
        int[] xs = inferred.get(node.input(0)), ws = inferred.get(node.input(1));
        Attributes a = node.attributes();
        ConvGeometry geo = new ConvGeometry(a, ws[2], ws[3], "Conv");
        if (geo.sh != 1 || geo.sw != 1) continue;
        String key = String.format(Locale.ROOT, "%dx%dx%d -> %d, %dx%d, group %d", xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], a.getInt("group", 1));
        count.merge(key, 1, Integer::sum);
        shapes.putIfAbsent(key, new Shape(a, xs[1], xs[2], xs[3], ws, key));
      }
      time(shapes.values().iterator().next()); // the whole JIT warm-up falls on the first shape otherwise
      double[] totals = new double[3];
      System.out.println(model + " stride-1 convs: " + count);
      for (Shape s : shapes.values()) {
        double[] med = time(s);
        int k = count.get(s.key);
        for (int i = 0; i < 3; i++) totals[i] += k * med[i] / N;
        out.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
            model, s.key, k, med[0], med[1], med[2], med[1] / med[0], med[2] / med[0], med[3], med[4]));
      }
      out.append(String.format(Locale.ROOT, "| %s | all stride-1 convs, thread-ms per image | | %.3f | %.3f | %.3f | %.2f | %.2f | | |%n",
          model, totals[0], totals[1], totals[2], totals[1] / totals[0], totals[2] / totals[0]));
    }
    System.out.println("| model | shape (input -> output channels, kernel, group) | convs | dW shifted, ms | dW im2col, ms | forward, ms "
        + "| im2col/shifted | forward/shifted | tap GEMMs, ms | SIMD kernel, ms |");
    System.out.print(out);
  }

  /** Medians over the rounds of {default dW, im2col dW, forward, tap GEMMs, SIMD kernel}, ms per N images. */
  private static double[] time(Shape s) {
    Random r = new Random(7);
    Tensor x = GradCheckTest.rand(r, 1, N, s.c, s.h, s.w), w = GradCheckTest.rand(r, 0.1, s.wShape), b = GradCheckTest.rand(r, 0.1, s.wShape[0]);
    Conv conv = new Conv(s.attrs);
    Tensor y = conv.forward(new Tensor[] {x, w, b})[0];
    Tensor dy = GradCheckTest.rand(r, 1, y.shape());
    Tensor[] in = {x, w, b};
    ConvGrad shifted = new ConvGrad(s.attrs, false, true), im2col = new ConvGrad(s.attrs, false, false);
    ConvGeometry geo = new ConvGeometry(s.attrs, s.wShape[2], s.wShape[3], "Conv");
    ShiftedFilterGrad f = new ShiftedFilterGrad(new ConvShape(x.shape(), y.shape(), (int) s.attrs.getInt("group", 1), geo,
        geo.pads(s.h, s.w)));
    List<Supplier<float[]>> runs = List.of(
        () -> shifted.backward(in, y, dy)[1].data(),
        () -> im2col.backward(in, y, dy)[1].data(),
        () -> conv.forward(in)[0].data(),
        () -> f.weightGradient(x.data(), dy.data(), ShiftedFilterGrad.Path.TAP_GEMMS),
        () -> f.weightGradient(x.data(), dy.data(), ShiftedFilterGrad.Path.SIMD));
    return alternate(runs, ROUNDS);
  }

  /** Median ms per call of each run, taking turns for 5 warm-up rounds (the Vector API code is slow until compiled) and then {@code rounds}. */
  static double[] alternate(List<Supplier<float[]>> runs, int rounds) {
    List<List<Double>> t = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) t.add(new ArrayList<>());
    float sink = 0;
    for (int round = 0; round < rounds + 5; round++) {
      for (int i = 0; i < runs.size(); i++) {
        long t0 = System.nanoTime();
        sink += runs.get(i).get()[0];
        if (round >= 5) t.get(i).add((System.nanoTime() - t0) / 1e6); // after a warm-up: the Vector API code is slow until compiled
      }
    }
    if (Float.isNaN(sink)) throw new AssertionError("NaN");
    double[] med = new double[runs.size()];
    for (int i = 0; i < med.length; i++) med[i] = QatBench.median(t.get(i));
    return med;
  }
}

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The backward of strided convs ({@link PolyphaseConvGrad}, {@link DepthwiseConvGrad}) against the im2col +
 * col2im backward and against the forward Conv, on every distinct strided conv shape of resnet_s
 * and mbv2_s with 64 images (a QAT micro-batch), one thread, rounds alternating the runs in one
 * JVM. The backward is ConvGrad's as QAT calls it (its default paths: dX per phase plane, depthwise
 * convs by direct loops): with the input gradient except for a network's first conv. The dW
 * pair compares the phase planes' weight gradient with the columns' (ConvGrad without dX). Per shape: medians of the rounds (ms
 * per 64 images) and their ratios; per model, sums weighted by how often each shape occurs, in
 * thread-ms per image.
 */
@Tag("bench")
class StridedConvGradBench {
  private static final int N = 64, ROUNDS = 25;

  private record Shape(Attributes attrs, int c, int h, int w, int[] wShape, boolean dx, String key) {}

  @Test
  void stridedBackward() throws Exception {
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
        if (geo.sh == 1 && geo.sw == 1) continue;
        boolean dx = !g.isInput(node.input(0));
        String key = String.format(Locale.ROOT, "%dx%dx%d -> %d, %dx%d/%d, group %d%s", xs[1], xs[2], xs[3], ws[0], ws[2], ws[3],
            geo.sh, a.getInt("group", 1), dx ? "" : ", no dX");
        count.merge(key, 1, Integer::sum);
        shapes.putIfAbsent(key, new Shape(a, xs[1], xs[2], xs[3], ws, dx, key));
      }
      time(shapes.values().iterator().next()); // the whole JIT warm-up falls on the first shape otherwise
      double[] totals = new double[5];
      System.out.println(model + " strided convs: " + count);
      for (Shape s : shapes.values()) {
        double[] med = time(s);
        int k = count.get(s.key);
        for (int i = 0; i < 5; i++) totals[i] += k * med[i] / N;
        out.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
            model, s.key, k, med[0], med[1], med[2], med[1] / med[0], med[0] / med[2], med[3], med[4], med[4] / med[3]));
      }
      out.append(String.format(Locale.ROOT, "| %s | all strided convs, thread-ms per image | | %.3f | %.3f | %.3f | %.2f | %.2f | %.3f | %.3f | %.2f |%n",
          model, totals[0], totals[1], totals[2], totals[1] / totals[0], totals[0] / totals[2], totals[3], totals[4], totals[4] / totals[3]));
    }
    String table = "| model | shape (input -> output channels, kernel/stride, group) | convs | backward new, ms | backward im2col, ms "
        + "| forward, ms | im2col/new | new/forward | dW polyphase, ms | dW im2col, ms | dW im2col/polyphase |\n"
        + "|---|---|---|---|---|---|---|---|---|---|---|\n" + out;
    System.out.print(table);
    java.nio.file.Path dir = java.nio.file.Path.of("target");
    java.nio.file.Files.createDirectories(dir);
    java.nio.file.Files.writeString(dir.resolve("strided-conv-grad-bench.md"), table);
  }

  /** Medians over the rounds of {polyphase backward, im2col backward, forward, polyphase dW, im2col dW}, ms per N images. */
  private static double[] time(Shape s) {
    Random r = new Random(7);
    Tensor x = GradCheckTest.rand(r, 1, N, s.c, s.h, s.w), w = GradCheckTest.rand(r, 0.1, s.wShape), b = GradCheckTest.rand(r, 0.1, s.wShape[0]);
    Conv conv = new Conv(s.attrs);
    Tensor y = conv.forward(new Tensor[] {x, w, b})[0];
    Tensor dy = GradCheckTest.rand(r, 1, y.shape());
    Tensor[] in = {x, w, b};
    ConvGrad poly = new ConvGrad(s.attrs, s.dx, true), im2col = new ConvGrad(s.attrs, s.dx, false);
    ConvGrad im2colW = new ConvGrad(s.attrs, false, false);
    ConvGeometry geo = new ConvGeometry(s.attrs, s.wShape[2], s.wShape[3], "Conv");
    PolyphaseConvGrad phases = new PolyphaseConvGrad(new ConvShape(x.shape(), y.shape(), (int) s.attrs.getInt("group", 1),
        geo, geo.pads(s.h, s.w)));
    List<Supplier<float[]>> runs = List.of(
        () -> poly.backward(in, y, dy)[1].data(),
        () -> im2col.backward(in, y, dy)[1].data(),
        () -> conv.forward(in)[0].data(),
        () -> phases.weightGradient(x.data(), dy.data()),
        () -> im2colW.backward(in, y, dy)[1].data());
    return ConvGradBench.alternate(runs, ROUNDS);
  }
}

package io.qspark.kernels.train;

import static io.qspark.kernels.train.GradCheckTest.attrs;
import static io.qspark.kernels.train.GradCheckTest.check;
import static io.qspark.kernels.train.GradCheckTest.distinct;
import static io.qspark.kernels.train.GradCheckTest.node;
import static io.qspark.kernels.train.GradCheckTest.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.ops.Resize;
import io.qspark.kernels.ops.Upsample;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Gradients of the ops real exports contain beyond the shared classifiers' (the realworld
 * detector, segmenter and two-input models, and converter-shaped models): against central
 * finite differences through {@link Backprop} as {@link GradCheckTest} does, and where an
 * independent identity exists, against it in double (activation derivatives against
 * differences of their formulas in double; Resize's gradient as the transpose of Resize).
 */
class ExportOpsGradCheckTest {
  private static final Tensor NO_ROI = Tensor.of(new float[0], 0);

  private static Tensor away(Random r, double scale, double gap, int... shape) {
    float[] x = rand(r, scale, shape).data();
    for (int i = 0; i < x.length; i++) x[i] = x[i] >= 0 ? x[i] + (float) gap : x[i] - (float) gap;
    return Tensor.of(x, shape);
  }

  private static Tensor positive(Random r, double offset, int... shape) {
    float[] x = rand(r, 1, shape).data();
    for (int i = 0; i < x.length; i++) x[i] = Math.abs(x[i]) + (float) offset;
    return Tensor.of(x, shape);
  }

  private static Node silu(String in, String out) {
    return new Node(out, Activation.SILU, OpRegistry.QSPARK_DOMAIN, List.of(in), List.of(out), Attributes.empty());
  }

  @Test
  void smoothAndHardActivations() {
    Random r = new Random(60);
    for (String op : List.of("Sigmoid", "Tanh", "HardSwish")) {
      check(List.of(node(op, List.of("x"), attrs())), Map.of("x", rand(r, 3, 2, 3, 4, 4)), "y", Set.of(), 61);
    }
    check(List.of(silu("x", "y")), Map.of("x", rand(r, 3, 2, 3, 4, 4)), "y", Set.of(), 62);
    check(List.of(node("HardSigmoid", List.of("x"), attrs())), Map.of("x", rand(r, 3, 2, 3, 4, 4)), "y", Set.of(), 63);
    // MobileNetV3's gate, as exported below opset 14
    check(List.of(node("HardSigmoid", List.of("x"), attrs("alpha", 1f / 6, "beta", 0.5f))),
        Map.of("x", rand(r, 4, 2, 3, 4, 4)), "y", Set.of(), 64);
  }

  /** Each derivative against central differences of the activation's formula in double, away from kinks. */
  @Test
  void activationDerivativesInDouble() {
    Map<String, DoubleUnaryOperator> f = new HashMap<>();
    f.put("Sigmoid", x -> 1 / (1 + Math.exp(-x)));
    f.put(Activation.SILU, x -> x / (1 + Math.exp(-x)));
    f.put("Tanh", Math::tanh);
    f.put("HardSigmoid", x -> Math.max(0, Math.min(1, 0.2 * x + 0.5)));
    f.put("HardSwish", x -> x * Math.max(0, Math.min(1, x / 6 + 0.5)));
    Random r = new Random(65);
    for (var e : f.entrySet()) {
      Activation a = Activation.of(e.getKey(), Attributes.empty());
      float[] x = new float[400];
      for (int i = 0; i < x.length; i++) {
        do {
          x[i] = (float) (r.nextGaussian() * 4);
        } while (Math.abs(Math.abs(x[i]) - 3) < 1e-3 || Math.abs(Math.abs(x[i]) - 2.5) < 1e-3);
      }
      float[] g = new float[x.length];
      java.util.Arrays.fill(g, 1f);
      ActivationGrad.fromInput(a, x, g, 0, x.length);
      double h = 1e-5;
      for (int i = 0; i < x.length; i++) {
        double fd = (e.getValue().applyAsDouble(x[i] + h) - e.getValue().applyAsDouble(x[i] - h)) / (2 * h);
        assertEquals(fd, g[i], 1e-6 + 1e-6 * Math.abs(fd), e.getKey() + "'(" + x[i] + ")");
      }
    }
  }

  @Test
  void resizeNearestAndLinear() {
    Random r = new Random(66);
    Set<String> fixed = Set.of("roi", "scales");
    // YOLOv5's FPN upsampling: nearest x2, asymmetric, floor
    check(List.of(node("Resize", List.of("x", "roi", "scales"), attrs("mode", "nearest",
            "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor"))),
        Map.of("x", rand(r, 1, 2, 3, 4, 5), "roi", NO_ROI, "scales", Tensor.of(new float[] {1, 1, 2, 2}, 4)), "y", fixed, 67);
    // LR-ASPP's bilinear resize to sizes, half-pixel; and the other coordinate modes, up and down
    check(List.of(node("Resize", List.of("x", "roi", "scales", "sizes"), attrs("mode", "linear"))),
        Map.of("x", rand(r, 1, 2, 2, 5, 7), "roi", NO_ROI, "scales", Tensor.of(new float[0], 0),
            "sizes", Tensor.ofLongs(new long[] {2, 2, 8, 11}, 4)), "y", fixed, 68);
    for (String mode : List.of("align_corners", "pytorch_half_pixel", "asymmetric")) {
      check(List.of(node("Resize", List.of("x", "roi", "scales"), attrs("mode", "linear", "coordinate_transformation_mode", mode))),
          Map.of("x", rand(r, 1, 1, 2, 6, 6), "roi", NO_ROI, "scales", Tensor.of(new float[] {1, 1, 0.5f, 1.5f}, 4)), "y", fixed, 69);
    }
    check(List.of(node("Resize", List.of("x", "roi", "scales"), attrs("mode", "nearest"))),
        Map.of("x", rand(r, 1, 1, 2, 6, 5), "roi", NO_ROI, "scales", Tensor.of(new float[] {1, 1, 0.5f, 1.7f}, 4)), "y", fixed, 70);
    check(List.of(node("Upsample", List.of("x", "scales"), attrs("mode", "nearest", "__opset__", 9L))),
        Map.of("x", rand(r, 1, 1, 2, 3, 3), "scales", Tensor.of(new float[] {1, 1, 2, 3}, 4)), "y", fixed, 71);
  }

  /** ⟨Resize(x), dy⟩ = ⟨x, Resizeᵀ(dy)⟩ in double: the gradient is the transpose of the resize, in every mode. */
  @Test
  void resizeGradientIsItsTranspose() {
    Random r = new Random(72);
    for (String mode : List.of("nearest", "linear")) {
      for (String coord : List.of("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn")) {
        for (String nearest : List.of("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")) {
          if (mode.equals("linear") && !nearest.equals("floor") || mode.equals("linear") && coord.equals("tf_half_pixel_for_nn")) continue;
          for (float[] sc : List.of(new float[] {1, 1, 2, 2}, new float[] {1, 1, 0.6f, 1.3f}, new float[] {1, 1, 3f, 0.5f})) {
            Resize op = new Resize(new Attributes(attrs("mode", mode, "coordinate_transformation_mode", coord, "nearest_mode", nearest)));
            Tensor x = rand(r, 1, 2, 3, 5, 6);
            Tensor[] in = {x, NO_ROI, Tensor.of(sc, 4)};
            Tensor y = op.forward(in)[0];
            Tensor dy = rand(r, 1, y.shape());
            assertAdjoint(x, y, dy, op.adjoint(in, dy), mode + " " + coord + " " + nearest + " " + java.util.Arrays.toString(sc));
          }
        }
      }
    }
    Upsample up = new Upsample(new Attributes(attrs("mode", "linear", "scales", new float[] {1, 1, 2, 2.5f})));
    Tensor x = rand(r, 1, 1, 2, 4, 4);
    Tensor y = up.forward(new Tensor[] {x})[0];
    Tensor dy = rand(r, 1, y.shape());
    assertAdjoint(x, y, dy, up.adjoint(new Tensor[] {x}, dy), "Upsample linear");
  }

  private static void assertAdjoint(Tensor x, Tensor y, Tensor dy, Tensor dx, String what) {
    double lhs = 0, rhs = 0, scale = 0;
    for (int i = 0; i < y.size(); i++) {
      lhs += (double) y.data()[i] * dy.data()[i];
      scale += Math.abs((double) y.data()[i] * dy.data()[i]);
    }
    for (int i = 0; i < x.size(); i++) rhs += (double) x.data()[i] * dx.data()[i];
    assertEquals(lhs, rhs, 1e-5 * scale, what);
  }

  @Test
  void splitWithAnUnreadPart() {
    Random r = new Random(73);
    // opset 13: sizes as an input; the middle part is read by nobody (its gradient is zero)
    List<Node> nodes = List.of(
        new Node("s", "Split", List.of("x", "sizes"), List.of("a", "b", "c"), new Attributes(attrs("axis", 1L))),
        new Node("m", "Mul", List.of("a", "a"), List.of("aa"), Attributes.empty()),
        new Node("y", "Concat", List.of("c", "aa"), List.of("y"), new Attributes(attrs("axis", 1L))));
    check(nodes, Map.of("x", rand(r, 1, 2, 6, 3, 3), "sizes", Tensor.ofLongs(new long[] {2, 1, 3}, 3)), "y", Set.of(), 74);
    // equal parts of the last axis, attribute form
    check(List.of(new Node("s", "Split", List.of("x"), List.of("a", "b"), new Attributes(attrs("axis", -1L))),
            new Node("y", "Sub", List.of("a", "b"), List.of("y"), Attributes.empty())),
        Map.of("x", rand(r, 1, 2, 3, 8)), "y", Set.of(), 75);
  }

  @Test
  void reductions() {
    Random r = new Random(76);
    check(List.of(node("ReduceMean", List.of("x"), attrs("axes", new long[] {-1}, "keepdims", 1L))),
        Map.of("x", rand(r, 1, 2, 5, 4)), "y", Set.of(), 77);
    check(List.of(node("ReduceMean", List.of("x"), attrs())), Map.of("x", rand(r, 1, 2, 3, 4)), "y", Set.of(), 78);
    check(List.of(node("ReduceSum", List.of("x", "axes"), attrs("keepdims", 0L))),
        Map.of("x", rand(r, 1, 2, 3, 4, 2), "axes", Tensor.ofLongs(new long[] {1, 3}, 2)), "y", Set.of(), 79);
    for (String op : List.of("ReduceMax", "ReduceMin")) {
      check(List.of(node(op, List.of("x"), attrs("axes", new long[] {1}, "keepdims", 1L))),
          Map.of("x", distinct(r, 2, 4, 3, 3)), "y", Set.of(), 80);
    }
  }

  @Test
  void softmaxEveryForm() {
    Random r = new Random(81);
    check(List.of(node("Softmax", List.of("x"), attrs("axis", 1L))), Map.of("x", rand(r, 2, 2, 4, 3, 2)), "y", Set.of(), 82);
    check(List.of(node("Softmax", List.of("x"), attrs())), Map.of("x", rand(r, 2, 2, 3, 5)), "y", Set.of(), 83);
    // before opset 13 the axis flattens everything after it into one row
    check(List.of(node("Softmax", List.of("x"), attrs("axis", 1L, "__opset__", 11L))),
        Map.of("x", rand(r, 2, 2, 3, 2, 2)), "y", Set.of(), 84);
  }

  @Test
  void layoutOps() {
    Random r = new Random(85);
    check(List.of(node("Transpose", List.of("x"), attrs("perm", new long[] {0, 2, 3, 1}))), Map.of("x", rand(r, 1, 2, 3, 4, 2)),
        "y", Set.of(), 86);
    check(List.of(node("Transpose", List.of("x"), attrs())), Map.of("x", rand(r, 1, 2, 3, 4)), "y", Set.of(), 87);
    check(List.of(node("Expand", List.of("x", "shape"), attrs())),
        Map.of("x", rand(r, 1, 1, 3, 1, 1), "shape", Tensor.ofLongs(new long[] {2, 1, 2, 2}, 4)), "y", Set.of(), 88);
  }

  @Test
  void powAndUnaryMath() {
    Random r = new Random(89);
    check(List.of(node("Pow", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 3, 4), "b", Tensor.of(new float[] {2f}, 1)),
        "y", Set.of("b"), 90);
    check(List.of(node("Pow", List.of("a", "b"), attrs())), Map.of("a", positive(r, 0.3, 2, 3), "b", rand(r, 1, 3)),
        "y", Set.of(), 91);
    check(List.of(node("Sqrt", List.of("x"), attrs())), Map.of("x", positive(r, 0.5, 2, 6)), "y", Set.of(), 92);
    check(List.of(node("Log", List.of("x"), attrs())), Map.of("x", positive(r, 0.5, 2, 6)), "y", Set.of(), 93);
    check(List.of(node("Reciprocal", List.of("x"), attrs())), Map.of("x", away(r, 1, 0.5, 2, 6)), "y", Set.of(), 94);
    check(List.of(node("Abs", List.of("x"), attrs())), Map.of("x", away(r, 1, 0.05, 2, 6)), "y", Set.of(), 95);
    check(List.of(node("Exp", List.of("x"), attrs())), Map.of("x", rand(r, 1, 2, 6)), "y", Set.of(), 96);
    check(List.of(node("Neg", List.of("x"), attrs())), Map.of("x", rand(r, 1, 2, 6)), "y", Set.of(), 97);
  }

  @Test
  void matMulOfAnyRank() {
    Random r = new Random(98);
    check(List.of(node("MatMul", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 3, 4), "b", rand(r, 1, 2, 4, 5)),
        "y", Set.of(), 99);
    // attention-style: both operands activations, one broadcast over the batch
    check(List.of(node("MatMul", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 3, 4), "b", rand(r, 1, 2, 4, 5)),
        "y", Set.of(), 100);
    check(List.of(node("MatMul", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 1, 3, 4), "b", rand(r, 1, 3, 4, 2)),
        "y", Set.of(), 101);
    check(List.of(node("MatMul", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 4), "b", rand(r, 1, 2, 4, 3)),
        "y", Set.of(), 102);
    check(List.of(node("MatMul", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 3, 4), "b", rand(r, 1, 4)),
        "y", Set.of(), 103);
  }

  /** A LayerNorm decomposed as tf2onnx writes it, then a token MatMul and a Softmax: differentiated end to end. */
  @Test
  void decomposedLayerNormBlock() {
    Random r = new Random(104);
    Map<String, Tensor> ops = new HashMap<>();
    ops.put("t", rand(r, 1, 2, 5, 4));
    ops.put("two", Tensor.of(new float[] {2f}, 1));
    ops.put("eps", Tensor.of(new float[] {1e-5f}, 1));
    ops.put("gamma", rand(r, 1, 4));
    ops.put("beta", rand(r, 1, 4));
    ops.put("w", rand(r, 0.5, 4, 4));
    List<Node> nodes = List.of(
        node2("mean", "ReduceMean", List.of("t"), attrs("axes", new long[] {-1}, "keepdims", 1L)),
        node2("d", "Sub", List.of("t", "mean"), attrs()),
        node2("sq", "Pow", List.of("d", "two"), attrs()),
        node2("var", "ReduceMean", List.of("sq"), attrs("axes", new long[] {-1}, "keepdims", 1L)),
        node2("ve", "Add", List.of("var", "eps"), attrs()),
        node2("sd", "Sqrt", List.of("ve"), attrs()),
        node2("n", "Div", List.of("d", "sd"), attrs()),
        node2("g", "Mul", List.of("n", "gamma"), attrs()),
        node2("ln", "Add", List.of("g", "beta"), attrs()),
        node2("mm", "MatMul", List.of("ln", "w"), attrs()),
        node2("sm", "Softmax", List.of("mm"), attrs("axis", 2L)),
        node2("y", "Transpose", List.of("sm"), attrs("perm", new long[] {0, 2, 1})));
    check(nodes, ops, "y", Set.of("two", "eps"), 105);
  }

  /**
   * A detector-shaped graph with three outputs, one of them (p5) also read further on (as
   * YOLO's FPN reads the deepest feature map): the gradients of all three outputs' losses
   * meet at the trunk through Resize, Concat and the residual Add.
   */
  @Test
  void severalOutputsOneAlsoReadFurther() {
    Random r = new Random(109);
    Map<String, Tensor> ops = new HashMap<>();
    ops.put("x", rand(r, 1, 2, 2, 8, 8));
    ops.put("w1", rand(r, 0.5, 3, 2, 3, 3));
    ops.put("w2", rand(r, 0.5, 3, 3, 3, 3));
    ops.put("w3", rand(r, 0.5, 2, 6, 1, 1));
    ops.put("w4", rand(r, 0.5, 3, 3, 1, 1));
    ops.put("roi", NO_ROI);
    ops.put("scales", Tensor.of(new float[] {1, 1, 2, 2}, 4));
    Attributes same = new Attributes(attrs("pads", new long[] {1, 1, 1, 1}));
    Attributes down = new Attributes(attrs("pads", new long[] {1, 1, 1, 1}, "strides", new long[] {2, 2}));
    List<Node> nodes = List.of(
        new Node("c1", "Conv", List.of("x", "w1"), List.of("f1"), same),
        silu("f1", "s1"),
        new Node("c2", "Conv", List.of("s1", "w2"), List.of("f2"), down),
        silu("f2", "p5"),
        new Node("up", "Resize", List.of("p5", "roi", "scales"), List.of("u"), new Attributes(attrs("mode", "nearest",
            "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor"))),
        node2("cat", "Concat", List.of("u", "s1"), attrs("axis", 1L)),
        new Node("c3", "Conv", List.of("cat", "w3"), List.of("p3"), Attributes.empty()),
        new Node("c4", "Conv", List.of("p5", "w4"), List.of("h"), Attributes.empty()),
        node2("p4", "Add", List.of("h", "p5"), attrs()));
    check(nodes, ops, List.of("p3", "p4", "p5"), Set.of("roi", "scales"), 110);
  }

  private static Node node2(String out, String op, List<String> in, Map<String, Object> a) {
    return new Node(out, op, in, List.of(out), new Attributes(a));
  }

  /**
   * Two inputs through one conv weight (siamese2's shared trunk), a Concat read by two
   * consumers, SiLU and a Sigmoid gate: finite differences for the inputs and the shared
   * weight; and the shared weight's gradient is the two uses' gradients added in reverse node
   * order, bit for bit (what each use alone gives, computed with the other use reading a copy).
   */
  @Test
  void sharedWeightsAndSeveralReaders() {
    Random r = new Random(106);
    Map<String, Tensor> ops = new HashMap<>();
    ops.put("left", rand(r, 1, 2, 2, 5, 5));
    ops.put("right", rand(r, 1, 2, 2, 5, 5));
    ops.put("w", rand(r, 0.5, 3, 2, 3, 3));
    ops.put("w_copy", ops.get("w"));
    ops.put("b", rand(r, 0.5, 3));
    check(siamese("w", "w"), ops, "y", Set.of("w_copy"), 107);

    Map<String, Tensor> seeds = Map.of("y", rand(new Random(108), 1, 2, 3, 5, 5));
    float[] shared = gradient(siamese("w", "w"), ops, seeds, "w");
    float[] leftUse = gradient(siamese("w", "w_copy"), ops, seeds, "w");
    float[] rightUse = gradient(siamese("w_copy", "w"), ops, seeds, "w");
    for (int k = 0; k < shared.length; k++) {
      // the right conv comes later in the graph, so its gradient arrives first
      assertEquals(Float.floatToIntBits(rightUse[k] + leftUse[k]), Float.floatToIntBits(shared[k]), "w[" + k + "]");
    }
    assertTrue(java.util.Arrays.equals(shared, gradient(siamese("w", "w"), ops, seeds, "w")), "the same bits every run");
  }

  private static List<Node> siamese(String leftWeight, String rightWeight) {
    Attributes pads = new Attributes(attrs("pads", new long[] {1, 1, 1, 1}));
    return List.of(
        new Node("cl", "Conv", List.of("left", leftWeight, "b"), List.of("fl"), pads),
        silu("fl", "sl"),
        new Node("cr", "Conv", List.of("right", rightWeight, "b"), List.of("fr"), pads),
        silu("fr", "sr"),
        node2("cat", "Concat", List.of("sl", "sr"), attrs("axis", 1L)),
        node2("gate", "Sigmoid", List.of("cat"), attrs()),
        node2("prod", "Mul", List.of("cat", "gate"), attrs()),
        new Node("half", "Split", List.of("prod"), List.of("p1", "p2"), new Attributes(attrs("axis", 1L))),
        node2("y", "Add", List.of("p1", "p2"), attrs()));
  }

  private static float[] gradient(List<Node> nodes, Map<String, Tensor> ops, Map<String, Tensor> seeds, String of) {
    Graph g = new Graph("t", List.of(), List.of("y"), ops, nodes);
    Backprop bp = new Backprop(g);
    return bp.backward(bp.forward(Map.of(), q -> null), seeds).get(of).data();
  }
}

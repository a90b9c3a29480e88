package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every backward kernel against central finite differences of the forward ops, through
 * {@link Backprop} (so the registry and the tape are covered too). The loss is a fixed random
 * linear function of the output, summed in double. Piecewise-linear ops are checked only where
 * the perturbation leaves every kink on the same side (a finite difference across a kink
 * measures neither side's slope); the test asserts that most elements were checkable.
 */
class GradCheckTest {
  private static final float EPS = 1e-2f;

  static Map<String, Object> attrs(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  static Tensor rand(Random r, double scale, int... shape) {
    float[] x = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * scale);
    return Tensor.of(x, shape);
  }

  /** Values spaced well apart (no ties within 2 EPS), shuffled: max pooling's argmax is stable. */
  static Tensor distinct(Random r, int... shape) {
    int n = (int) Tensor.size(shape);
    List<Float> v = new ArrayList<>();
    for (int i = 0; i < n; i++) v.add((i - n / 2) * 0.05f);
    java.util.Collections.shuffle(v, r);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = v.get(i);
    return Tensor.of(x, shape);
  }

  static Node node(String op, List<String> in, Map<String, Object> a) {
    return new Node(op, op, in, List.of("y"), new Attributes(a));
  }

  /** Checks d(sum r*y)/d(operand) for every float operand not in {@code constant}. */
  static void check(List<Node> nodes, Map<String, Tensor> operands, String out, Set<String> constant, long seed) {
    check(nodes, operands, List.of(out), constant, seed);
  }

  /** The same for a graph with several outputs: the loss is the sum over them of a random linear function of each. */
  static void check(List<Node> nodes, Map<String, Tensor> operands, List<String> outs, Set<String> constant, long seed) {
    Graph g = new Graph("t", List.of(), outs, operands, nodes);
    Backprop bp = new Backprop(g);
    Backprop.Tape base = bp.forward(Map.of(), q -> null);
    Random r = new Random(seed);
    Map<String, float[]> weights = new LinkedHashMap<>();
    Map<String, Tensor> seeds = new LinkedHashMap<>();
    for (String out : outs) {
      Tensor y = base.value(out);
      weights.put(out, rand(r, 1, y.shape()).data());
      seeds.put(out, Tensor.of(weights.get(out), y.shape()));
    }
    Map<String, Tensor> grads = bp.backward(base, seeds);
    String sig = kinks(g, base);
    int checked = 0, total = 0;
    for (var e : operands.entrySet()) {
      if (!e.getValue().isFloat() || constant.contains(e.getKey())) continue;
      Tensor grad = grads.get(e.getKey());
      assertTrue(grad != null, "no gradient for " + e.getKey());
      float[] x = e.getValue().data();
      for (int i = 0; i < x.length; i++) {
        total++;
        double[] l = new double[2];
        boolean same = true;
        for (int s = 0; s < 2; s++) {
          float[] p = x.clone();
          p[i] += s == 0 ? EPS : -EPS;
          Backprop.Tape t = bp.forward(Map.of(e.getKey(), Tensor.of(p, e.getValue().shape())), q -> null);
          same &= kinks(g, t).equals(sig);
          for (String out : outs) {
            float[] yy = t.value(out).data(), w = weights.get(out);
            for (int k = 0; k < yy.length; k++) l[s] += (double) w[k] * yy[k];
          }
        }
        if (!same) continue;
        checked++;
        double fd = (l[0] - l[1]) / (2 * EPS);
        double an = grad.data()[i];
        assertEquals(fd, an, 5e-3 + 2e-2 * Math.abs(fd),
            nodes.get(nodes.size() - 1).opType() + ": d/d" + e.getKey() + "[" + i + "]");
      }
    }
    assertTrue(checked >= total * 0.7, "only " + checked + " of " + total + " elements away from kinks");
  }

  /** Which side of its kinks every piecewise-linear op is on. */
  private static String kinks(Graph g, Backprop.Tape t) {
    StringBuilder b = new StringBuilder();
    for (Node n : g.nodes()) {
      String act = n.attributes().getString("activation", null);
      float[] v;
      String kind;
      if (act != null) {
        v = t.value(n.outputs().get(0)).data();
        kind = act;
      } else if (Set.of("Relu", "LeakyRelu", "Clip").contains(n.opType())) {
        v = t.value(n.input(0)).data();
        kind = n.opType();
      } else if (Set.of("HardSigmoid", "HardSwish").contains(n.opType())) {
        // kinks where alpha·x + beta crosses 0 and 1: the side of each, as Clip's
        float alpha = n.opType().equals("HardSwish") ? 1f / 6 : n.attributes().getFloat("alpha", 0.2f);
        float beta = n.opType().equals("HardSwish") ? 0.5f : n.attributes().getFloat("beta", 0.5f);
        for (float f : t.value(n.input(0)).data()) {
          float u = alpha * f + beta;
          b.append(u <= 0 ? '<' : u >= 1 ? '>' : '=');
        }
        continue;
      } else {
        continue;
      }
      float lo = n.attributes().getFloat(act != null ? "activation_min" : "min", 0f);
      float hi = n.attributes().getFloat(act != null ? "activation_max" : "max", 6f);
      for (float f : v) b.append(kind.equals("Clip") ? (f <= lo ? '<' : f >= hi ? '>' : '=') : f > 0 ? '+' : '-');
    }
    return b.toString();
  }

  @Test
  void convDense() {
    Random r = new Random(1);
    check(List.of(node("Conv", List.of("x", "w", "b"), attrs("pads", new long[] {1, 1, 1, 1}))),
        Map.of("x", rand(r, 1, 2, 3, 6, 6), "w", rand(r, 0.5, 4, 3, 3, 3), "b", rand(r, 1, 4)), "y", Set.of(), 11);
  }

  @Test
  void convStridedDilatedWithFusedRelu() {
    Random r = new Random(2);
    check(List.of(node("Conv", List.of("x", "w", "b"), attrs("strides", new long[] {2, 2}, "dilations", new long[] {2, 1},
        "pads", new long[] {1, 0, 2, 1}, "activation", "Relu"))),
        Map.of("x", rand(r, 1, 2, 3, 9, 8), "w", rand(r, 0.5, 4, 3, 3, 2), "b", rand(r, 1, 4)), "y", Set.of(), 12);
  }

  @Test
  void convGroupedWithFusedClip() {
    Random r = new Random(3);
    check(List.of(node("Conv", List.of("x", "w", "b"), attrs("group", 2L, "pads", new long[] {1, 1, 1, 1},
        "activation", "Clip", "activation_min", 0f, "activation_max", 1.5f))),
        Map.of("x", rand(r, 1, 2, 4, 5, 5), "w", rand(r, 0.5, 6, 2, 3, 3), "b", rand(r, 0.5, 6)), "y", Set.of(), 13);
  }

  @Test
  void convDepthwiseStridedWithFusedLeakyRelu() {
    Random r = new Random(4);
    check(List.of(node("Conv", List.of("x", "w", "b"), attrs("group", 3L, "strides", new long[] {2, 2},
        "pads", new long[] {1, 1, 1, 1}, "activation", "LeakyRelu", "activation_alpha", 0.1f))),
        Map.of("x", rand(r, 1, 2, 3, 7, 7), "w", rand(r, 0.5, 3, 1, 3, 3), "b", rand(r, 0.5, 3)), "y", Set.of(), 14);
  }

  @Test
  void convWithoutBias() {
    Random r = new Random(5);
    check(List.of(node("Conv", List.of("x", "w"), attrs("strides", new long[] {2, 2}))),
        Map.of("x", rand(r, 1, 1, 2, 5, 5), "w", rand(r, 0.5, 3, 2, 1, 1)), "y", Set.of(), 15);
  }

  @Test
  void gemmVariants() {
    Random r = new Random(6);
    check(List.of(node("Gemm", List.of("a", "b", "c"), attrs("transB", 1L, "activation", "Relu"))),
        Map.of("a", rand(r, 1, 3, 5), "b", rand(r, 1, 4, 5), "c", rand(r, 1, 4)), "y", Set.of(), 16);
    check(List.of(node("Gemm", List.of("a", "b", "c"), attrs("transA", 1L, "alpha", 0.5f, "beta", 2f))),
        Map.of("a", rand(r, 1, 5, 3), "b", rand(r, 1, 5, 4), "c", rand(r, 1, 3, 1)), "y", Set.of(), 17);
    check(List.of(node("Gemm", List.of("a", "b"), attrs("transA", 1L, "transB", 1L))),
        Map.of("a", rand(r, 1, 5, 3), "b", rand(r, 1, 4, 5)), "y", Set.of(), 18);
  }

  @Test
  void matMul() {
    Random r = new Random(7);
    check(List.of(node("MatMul", List.of("a", "b"), attrs())),
        Map.of("a", rand(r, 1, 2, 3, 4), "b", rand(r, 1, 4, 5)), "y", Set.of(), 19);
  }

  @Test
  void batchNorm() {
    Random r = new Random(8);
    float[] var = rand(r, 1, 3).data();
    for (int i = 0; i < 3; i++) var[i] = Math.abs(var[i]) + 0.5f;
    check(List.of(node("BatchNormalization", List.of("x", "s", "b", "m", "v"), attrs("epsilon", 1e-3f))),
        Map.of("x", rand(r, 1, 2, 3, 2, 2), "s", rand(r, 1, 3), "b", rand(r, 1, 3), "m", rand(r, 1, 3),
            "v", Tensor.of(var, 3)), "y", Set.of("m", "v"), 20);
  }

  @Test
  void activations() {
    Random r = new Random(9);
    check(List.of(node("Relu", List.of("x"), attrs())), Map.of("x", rand(r, 1, 2, 3, 4)), "y", Set.of(), 21);
    check(List.of(node("LeakyRelu", List.of("x"), attrs("alpha", 0.1f))), Map.of("x", rand(r, 1, 2, 3, 4)), "y", Set.of(), 22);
    check(List.of(node("Clip", List.of("x"), attrs("min", 0f, "max", 6f, "__opset__", 6L))),
        Map.of("x", rand(r, 4, 2, 3, 4)), "y", Set.of(), 23);
  }

  @Test
  void pooling() {
    Random r = new Random(10);
    check(List.of(node("MaxPool", List.of("x"), attrs("kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2},
        "pads", new long[] {1, 1, 1, 1}))), Map.of("x", distinct(r, 2, 2, 7, 7)), "y", Set.of(), 24);
    for (long incl : new long[] {0, 1}) {
      check(List.of(node("AveragePool", List.of("x"), attrs("kernel_shape", new long[] {3, 3}, "strides", new long[] {2, 2},
          "pads", new long[] {1, 1, 1, 1}, "ceil_mode", 1L, "count_include_pad", incl))),
          Map.of("x", rand(r, 1, 2, 2, 6, 6)), "y", Set.of(), 25);
    }
    check(List.of(node("GlobalAveragePool", List.of("x"), attrs())), Map.of("x", rand(r, 1, 2, 3, 4, 5)), "y", Set.of(), 26);
  }

  @Test
  void elementwiseWithBroadcast() {
    Random r = new Random(11);
    for (String op : List.of("Add", "Sub", "Mul")) {
      check(List.of(node(op, List.of("a", "b"), attrs())),
          Map.of("a", rand(r, 1, 2, 3, 4, 4), "b", rand(r, 1, 1, 3, 1, 1)), "y", Set.of(), 27);
    }
    check(List.of(node("Add", List.of("a", "b"), attrs())),
        Map.of("a", rand(r, 1, 2, 3, 2, 2), "b", rand(r, 1, 2, 3, 2, 2)), "y", Set.of(), 28);
  }

  @Test
  void concatAndReshapes() {
    Random r = new Random(12);
    check(List.of(node("Concat", List.of("a", "b"), attrs("axis", 1L))),
        Map.of("a", rand(r, 1, 2, 3, 2, 2), "b", rand(r, 1, 2, 1, 2, 2)), "y", Set.of(), 29);
    check(List.of(node("Flatten", List.of("x"), attrs("axis", 1L))), Map.of("x", rand(r, 1, 2, 3, 2, 2)), "y", Set.of(), 30);
    check(List.of(node("Reshape", List.of("x", "s"), attrs())),
        Map.of("x", rand(r, 1, 2, 3, 4), "s", Tensor.ofLongs(new long[] {4, -1}, 2)), "y", Set.of(), 31);
  }

  /** A small network through every kind of op at once, differentiated end to end. */
  @Test
  void network() {
    Random r = new Random(13);
    Map<String, Tensor> ops = new HashMap<>();
    ops.put("x", rand(r, 1, 2, 2, 6, 6));
    ops.put("w1", rand(r, 0.5, 4, 2, 3, 3));
    ops.put("b1", rand(r, 0.5, 4));
    ops.put("s", rand(r, 1, 4));
    ops.put("beta", rand(r, 1, 4));
    ops.put("mu", rand(r, 0.1, 4));
    ops.put("var", Tensor.of(new float[] {1f, 2f, 0.5f, 1.5f}, 4));
    ops.put("w2", rand(r, 0.5, 4, 1, 3, 3));
    ops.put("wf", rand(r, 0.5, 3, 32));
    ops.put("bf", rand(r, 0.5, 3));
    List<Node> nodes = List.of(
        new Node("c1", "Conv", List.of("x", "w1", "b1"), List.of("c1"), new Attributes(attrs("pads", new long[] {1, 1, 1, 1}))),
        new Node("bn", "BatchNormalization", List.of("c1", "s", "beta", "mu", "var"), List.of("bn"), Attributes.empty()),
        new Node("r", "Relu", List.of("bn"), List.of("r"), Attributes.empty()),
        new Node("dw", "Conv", List.of("r", "w2"), List.of("dw"), new Attributes(attrs("group", 4L, "pads", new long[] {1, 1, 1, 1},
            "activation", "Clip", "activation_min", 0f, "activation_max", 6f))),
        new Node("add", "Add", List.of("dw", "r"), List.of("add"), Attributes.empty()),
        new Node("mp", "MaxPool", List.of("add"), List.of("mp"), new Attributes(attrs("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}))),
        new Node("ap", "AveragePool", List.of("add"), List.of("ap"), new Attributes(attrs("kernel_shape", new long[] {2, 2}, "strides", new long[] {2, 2}))),
        new Node("cat", "Concat", List.of("ap", "mp"), List.of("cat"), new Attributes(attrs("axis", 1L))),
        new Node("gp", "GlobalAveragePool", List.of("cat"), List.of("gp"), Attributes.empty()),
        new Node("fl", "Flatten", List.of("gp"), List.of("fl"), Attributes.empty()),
        new Node("sl", "Gemm", List.of("fl", "wf", "bf"), List.of("y"), new Attributes(attrs("transB", 1L))));
    Graph probe = new Graph("p", List.of(), List.of("fl"), ops, nodes.subList(0, 10));
    int f = new Backprop(probe).forward(Map.of(), q -> null).value("fl").dim(1);
    ops.put("wf", rand(r, 0.3, 3, f));
    check(nodes, ops, "y", Set.of("mu", "var"), 32);
  }

  @Test
  void softmaxCrossEntropy() {
    Random r = new Random(14);
    Tensor z = rand(r, 2, 4, 5);
    int[] labels = {0, 3, 4, 1};
    Tensor g = SoftmaxCrossEntropy.of(z, labels).gradient();
    for (int i = 0; i < z.size(); i++) {
      float[] p = z.data().clone();
      p[i] += EPS;
      double up = SoftmaxCrossEntropy.of(Tensor.of(p, 4, 5), labels).loss();
      p[i] -= 2 * EPS;
      double down = SoftmaxCrossEntropy.of(Tensor.of(p, 4, 5), labels).loss();
      assertEquals((up - down) / (2 * EPS), g.data()[i], 1e-4, "logit " + i);
    }
  }

  /** STE: the gradient of fake-quant is that of clamping to the quantization range. */
  @Test
  void straightThroughEstimatorIsTheClampsGradient() {
    FixPoint q = new FixPoint(4, 2, Rounding.HALF_AWAY);
    float lo = (float) (q.qmin() * q.step()), hi = (float) (q.qmax() * q.step());
    Random r = new Random(15);
    float[] x = new float[200];
    for (int i = 0; i < x.length; i++) {
      do {
        x[i] = (float) (r.nextGaussian() * 2);
      } while (Math.abs(x[i] - lo) < 2 * EPS || Math.abs(x[i] - hi) < 2 * EPS);
    }
    float[] g = new float[x.length];
    java.util.Arrays.fill(g, 1f);
    Ste.mask(q, x, g, 0, x.length);
    int passed = 0;
    for (int i = 0; i < x.length; i++) {
      double fd = (Math.min(hi, Math.max(lo, x[i] + EPS)) - Math.min(hi, Math.max(lo, x[i] - EPS))) / (2 * EPS);
      assertEquals(fd, g[i], 1e-4, "x=" + x[i]);
      passed += g[i] > 0 ? 1 : 0;
    }
    assertTrue(passed > 20 && passed < 200, "both sides of the range were exercised");
    // and Backprop applies it to quantized values: a fake-quantized input's gradient is masked
    Graph graph = new Graph("q", List.of(), List.of("y"), Map.of("x", Tensor.of(x, 200)),
        List.of(new Node("i", "Identity", List.of("x"), List.of("y"), Attributes.empty())));
    Backprop bp = new Backprop(graph);
    Backprop.Tape t = bp.forward(Map.of(), v -> v.equals("x") ? q : null);
    float[] ones = new float[200];
    java.util.Arrays.fill(ones, 1f);
    float[] gx = bp.backward(t, Map.of("y", Tensor.of(ones, 200))).get("x").data();
    for (int i = 0; i < 200; i++) assertEquals(g[i], gx[i]);
  }
}

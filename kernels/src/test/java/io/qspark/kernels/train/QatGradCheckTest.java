package io.qspark.kernels.train;

import static io.qspark.kernels.train.GradCheckTest.attrs;
import static io.qspark.kernels.train.GradCheckTest.check;
import static io.qspark.kernels.train.GradCheckTest.node;
import static io.qspark.kernels.train.GradCheckTest.rand;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.BatchNormalization;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.tensor.Tensor;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The gradients QAT adds, against central finite differences (as {@link GradCheckTest}). */
class QatGradCheckTest {
  private static Tensor positive(Random r, int n) {
    float[] v = rand(r, 1, n).data();
    for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]) + 0.5f;
    return Tensor.of(v, n);
  }

  @Test
  void divWithBroadcast() {
    Random r = new Random(40);
    float[] b = rand(r, 1, 3, 1, 1).data();
    for (int i = 0; i < b.length; i++) b[i] = b[i] >= 0 ? b[i] + 0.7f : b[i] - 0.7f;
    check(List.of(node("Div", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 3, 2, 2), "b", Tensor.of(b, 3, 1, 1)),
        "y", Set.of(), 41);
    // and the general broadcast: per-row divisors of a matrix, and both operands broadcast
    check(List.of(node("Div", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 3), "b", Tensor.of(new float[] {1.5f, -2f, 0.8f}, 3)),
        "y", Set.of(), 46);
    check(List.of(node("Mul", List.of("a", "b"), attrs())), Map.of("a", rand(r, 1, 2, 3, 2, 2), "b", rand(r, 1, 1, 3, 1, 1)),
        "y", Set.of(), 47);
  }

  /** Conv -> BatchNorm -> Relu as QAT trains it: weight folded by running statistics, unfolded, batch-normalized. */
  @Test
  void convBatchNormPairAsTrained() {
    Random r = new Random(44);
    Map<String, Tensor> inits = new LinkedHashMap<>();
    inits.put("x", rand(r, 1, 2, 2, 4, 4));
    inits.put("w", rand(r, 0.5, 3, 2, 3, 3));
    inits.put("cb", rand(r, 1, 3));
    inits.put("g", rand(r, 1, 3));
    inits.put("beta", rand(r, 1, 3));
    inits.put("m", rand(r, 1, 3));
    inits.put("v", positive(r, 3));
    List<Node> nodes = List.of(
        new Node("conv", "Conv", List.of("x", "w", "cb"), List.of("c"), new io.qspark.kernels.graph.Attributes(
            attrs("pads", new long[] {1, 1, 1, 1}))),
        new Node("bn", "BatchNormalization", List.of("c", "g", "beta", "m", "v"), List.of("n"),
            new io.qspark.kernels.graph.Attributes(attrs("epsilon", 1e-3f))),
        new Node("relu", "Relu", List.of("n"), List.of("y"), io.qspark.kernels.graph.Attributes.empty()));
    Graph g = new Graph("t", List.of(), List.of("y"), inits, nodes);
    QatGraph q = QatGraph.of(g);
    assertEquals(1, q.pairs().size());
    Graph t = q.batchStatistics();
    // the conv bias cancels under batch statistics, so the training graph leaves it out
    Set<String> constant = new HashSet<>(Set.of("m", "v", "cb"));
    check(t.nodes(), t.initializers(), "y", constant, 45);
    assertEquals(Set.of("w", "cb", "g", "beta"), q.trainableBeforeFreeze());
  }

  /** QAT's fused BatchNorm: with the pair's divisor and a fused ReLU6, and alone with a fused ReLU. */
  @Test
  void qatBatchNormFused() {
    Random r = new Random(48);
    float[] d = positive(r, 3).data();
    check(List.of(new Node("bn", QatBatchNorm.OP_TYPE, QatBatchNorm.DOMAIN, List.of("x", "s", "b", "m", "v", "d"),
            List.of("y", "mean", "var"), new io.qspark.kernels.graph.Attributes(attrs("epsilon", 1e-3f, "activation", "Clip",
                "activation_min", 0f, "activation_max", 1f)))),
        Map.of("x", rand(r, 1, 2, 3, 3, 3), "s", rand(r, 1, 3), "b", rand(r, 0.5, 3), "m", rand(r, 1, 3), "v", positive(r, 3),
            "d", Tensor.of(d, 3)),
        "y", Set.of("m", "v"), 49);
    check(List.of(new Node("bn", QatBatchNorm.OP_TYPE, QatBatchNorm.DOMAIN, List.of("x", "s", "b", "m", "v"),
            List.of("y", "mean", "var"), new io.qspark.kernels.graph.Attributes(attrs("epsilon", 1e-3f, "activation", "Relu")))),
        Map.of("x", rand(r, 1, 3, 2, 2, 3), "s", rand(r, 1, 2), "b", rand(r, 0.5, 2), "m", rand(r, 1, 2), "v", positive(r, 2)),
        "y", Set.of("m", "v"), 50);
  }

  /** The fused op computes what Div, BatchNorm on batch statistics and Relu computed, value for value. */
  @Test
  void qatBatchNormIsDivBatchNormRelu() {
    Random r = new Random(51);
    Tensor x = rand(r, 1, 4, 3, 5, 5), s = rand(r, 1, 3), b = rand(r, 1, 3), m = rand(r, 1, 3), v = positive(r, 3), d = positive(r, 3);
    Tensor fused = new QatBatchNorm(new io.qspark.kernels.graph.Attributes(attrs("epsilon", 1e-3f, "activation", "Relu")))
        .forward(new Tensor[] {x, s, b, m, v, d})[0];
    Tensor u = io.qspark.kernels.ops.Elementwise.of("Div").forward(new Tensor[] {x, Tensor.of(d.data(), 3, 1, 1)})[0];
    Tensor n = new BatchNormalization(new io.qspark.kernels.graph.Attributes(attrs("epsilon", 1e-3f, BatchNormalization.BATCH_STATISTICS, 1L)))
        .forward(new Tensor[] {u, s, b, m, v})[0];
    Tensor y = io.qspark.kernels.ops.Activation.of("Relu", io.qspark.kernels.graph.Attributes.empty()).forward(new Tensor[] {n})[0];
    org.junit.jupiter.api.Assertions.assertArrayEquals(y.data(), fused.data());
  }
}

package io.qspark.kernels.train;

import static io.qspark.kernels.train.GradCheckTest.attrs;
import static io.qspark.kernels.train.GradCheckTest.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Gaussian;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * QAT's losses on hand-worked values, and a QAT run on a small model with two inputs and two
 * outputs (one of them also read further on) trained by distillation: the held-out loss falls,
 * the thread count does not change a bit, and the trained forward pass is the deployed
 * fake-quant model.
 */
class QatLossTest {
  /** y = a and e = b: a teacher whose outputs are the inputs, so the float targets are what the test feeds. */
  private static Graph passThrough() {
    return new Graph("t", List.of(new ValueInfo("a", new int[] {-1, 2}), new ValueInfo("b", new int[] {-1, 3})), List.of("y", "e"),
        Map.of(), List.of(new Node("y", "Identity", List.of("a"), List.of("y"), Attributes.empty()),
            new Node("e", "Identity", List.of("b"), List.of("e"), Attributes.empty())));
  }

  private static Map<String, Tensor> floats() {
    return Map.of("a", Tensor.of(new float[] {0, 2, 4, 6}, 2, 2), "b", Tensor.of(new float[] {1, 1, 1, 1, 1, 4}, 2, 3));
  }

  @Test
  void distillationOnHandWorkedValues() {
    Graph teacher = passThrough();
    // y's values 0, 2, 4, 6: mean 3, variance (9 + 1 + 1 + 9) / 4 = 5; e's 1, 1, 1, 1, 1, 4:
    // mean 1.5, variance (5 * 0.25 + 6.25) / 6 = 1.25
    Map<String, Double> v = DistillationLoss.variances(teacher, floats());
    assertEquals(5.0, v.get("y"), 1e-12);
    assertEquals(1.25, v.get("e"), 1e-12);
    DistillationLoss loss = new DistillationLoss(teacher, v);
    Map<String, Tensor> q = Map.of("y", Tensor.of(new float[] {1, 2, 4, 8}, 2, 2), "e", Tensor.of(new float[] {1, 2, 1, 1, 1, 4}, 2, 3));
    QatLoss.Value r = loss.evaluate(new QatLoss.Batch(floats(), null), q);
    // y: errors (1, 0) and (0, 2), E = 2: 1 / (5 * 2) + 4 / (5 * 2) = 0.5; e: errors (0, 1, 0) and
    // (0, 0, 0), E = 3: 1 / (1.25 * 3) = 4 / 15
    assertEquals(0.5 + 4.0 / 15, r.sum(), 1e-12);
    assertEquals(0, r.correct());
    // d/dq = 2 (q − f) / (v E): y's 2 / 10 per unit of error, e's 2 / 3.75
    assertArrayEquals(new float[] {0.2f, 0, 0, 0.4f}, r.gradients().get("y").data(), 1e-7f);
    assertArrayEquals(new float[] {0, (float) (2 / 3.75), 0, 0, 0, 0}, r.gradients().get("e").data(), 1e-7f);
  }

  /** The summed loss of a micro-batch is the sum of its images' losses: micro-batching does not change the step. */
  @Test
  void distillationOfABatchIsTheSumOfItsImages() {
    Random rnd = new Random(1);
    Graph teacher = passThrough();
    Map<String, Tensor> in = Map.of("a", rand(rnd, 1, 4, 2), "b", rand(rnd, 1, 4, 3));
    Map<String, Tensor> q = Map.of("y", rand(rnd, 1, 4, 2), "e", rand(rnd, 1, 4, 3));
    DistillationLoss loss = DistillationLoss.of(teacher, in);
    double whole = loss.evaluate(new QatLoss.Batch(in, null), q).sum(), parts = 0;
    for (int i = 0; i < 4; i++) {
      int k = i;
      Map<String, Tensor> ii = new HashMap<>(), qi = new HashMap<>();
      in.forEach((n, t) -> ii.put(n, t.slice0(k, k + 1)));
      q.forEach((n, t) -> qi.put(n, t.slice0(k, k + 1)));
      parts += loss.evaluate(new QatLoss.Batch(ii, null), qi).sum();
    }
    assertEquals(whole, parts, 1e-12 * whole);
  }

  /** Each loss's gradient against central differences of its own sum (both are quadratic or smooth). */
  @Test
  void gradientsAreTheSumsDerivatives() {
    Random rnd = new Random(2);
    Graph teacher = passThrough();
    Map<String, Tensor> in = Map.of("a", rand(rnd, 1, 3, 2), "b", rand(rnd, 1, 3, 3));
    int[] labels = {1, 0, 1};
    QatLoss distill = DistillationLoss.of(teacher, in);
    QatLoss both = new CrossEntropyLoss("y").plus(distill, 0.7);
    for (QatLoss loss : List.of(distill, new CrossEntropyLoss("y"), both)) {
      Map<String, Tensor> q = new LinkedHashMap<>(Map.of("y", rand(rnd, 1, 3, 2), "e", rand(rnd, 1, 3, 3)));
      QatLoss.Batch batch = new QatLoss.Batch(in, labels);
      QatLoss.Value base = loss.evaluate(batch, q);
      for (String out : List.of("y", "e")) {
        float[] x = q.get(out).data();
        Tensor g = base.gradients().get(out);
        for (int i = 0; i < x.length; i++) {
          double[] l = new double[2];
          float[] at = new float[2];
          for (int s = 0; s < 2; s++) {
            float[] p = x.clone();
            p[i] += s == 0 ? 1e-2f : -1e-2f;
            at[s] = p[i];
            Map<String, Tensor> qq = new LinkedHashMap<>(q);
            qq.put(out, Tensor.of(p, q.get(out).shape()));
            l[s] = loss.evaluate(batch, qq).sum();
          }
          double fd = (l[0] - l[1]) / (at[0] - at[1]);
          assertEquals(fd, g == null ? 0 : g.data()[i], 1e-4 + 1e-3 * Math.abs(fd), out + "[" + i + "]");
        }
      }
    }
  }

  @Test
  void crossEntropyOnHandWorkedValues() {
    Map<String, Tensor> q = Map.of("logits", Tensor.of(new float[] {2, 1, 0, 0, 0, 3}, 2, 3));
    QatLoss.Value r = new CrossEntropyLoss("logits").evaluate(new QatLoss.Batch(Map.of("x", Tensor.of(new float[2], 2, 1)),
        new int[] {0, 1}), q);
    // log-sum-exp minus the label's logit, per image
    double expected = Math.log(Math.exp(2) + Math.exp(1) + 1) - 2 + Math.log(2 + Math.exp(3)) - 0;
    assertEquals(expected, r.sum(), 1e-9);
    assertEquals(1, r.correct());
    // d/dz = softmax − one_hot, per image (the sum's gradient)
    double z0 = Math.exp(2) + Math.exp(1) + 1, z1 = 2 + Math.exp(3);
    float[] g = {(float) (Math.exp(2) / z0 - 1), (float) (Math.exp(1) / z0), (float) (1 / z0),
        (float) (1 / z1), (float) (1 / z1 - 1), (float) (Math.exp(3) / z1)};
    assertArrayEquals(g, r.gradients().get("logits").data(), 1e-6f);
  }

  @Test
  void badUseIsAOneLineError() {
    Graph teacher = passThrough();
    Map<String, Tensor> q = Map.of("y", Tensor.of(new float[4], 2, 2));
    assertEquals("cross-entropy needs labels; the data has none", assertThrows(IllegalArgumentException.class,
        () -> new CrossEntropyLoss("y").evaluate(new QatLoss.Batch(floats(), null), q)).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(teacher, Map.of("boxes", 1.0)))
        .getMessage().contains("no output 'boxes' (its outputs: y, e)"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(teacher, Map.of("y", 0.0)))
        .getMessage().contains("a constant output cannot be distilled"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss("y").evaluate(
        new QatLoss.Batch(floats(), new int[] {0, 2}), q)).getMessage().contains("label 2 outside the 2 classes"));
  }

  /**
   * left, right [N,1,8,8] → one conv weight for both (SiLU), Concat, Resize x2 nearest, conv
   * (Sigmoid-gated), GlobalAveragePool → embedding [N,4], also read by a Gemm → logits [N,3].
   */
  private static Graph twoInTwoOut(Random rnd) {
    Map<String, Tensor> inits = new LinkedHashMap<>();
    inits.put("w", rand(rnd, 0.4, 3, 1, 3, 3));
    inits.put("b", rand(rnd, 0.1, 3));
    inits.put("w2", rand(rnd, 0.3, 4, 6, 3, 3));
    inits.put("b2", rand(rnd, 0.1, 4));
    inits.put("wf", rand(rnd, 0.5, 3, 4));
    inits.put("bf", rand(rnd, 0.1, 3));
    inits.put("roi", Tensor.of(new float[0], 0));
    inits.put("scales", Tensor.of(new float[] {1, 1, 2, 2}, 4));
    Attributes pads = new Attributes(attrs("pads", new long[] {1, 1, 1, 1}));
    List<Node> nodes = List.of(
        new Node("cl", "Conv", List.of("left", "w", "b"), List.of("fl"), pads),
        new Node("sl", Activation.SILU, OpRegistry.QSPARK_DOMAIN, List.of("fl"), List.of("sl"), Attributes.empty()),
        new Node("cr", "Conv", List.of("right", "w", "b"), List.of("fr"), pads),
        new Node("sr", Activation.SILU, OpRegistry.QSPARK_DOMAIN, List.of("fr"), List.of("sr"), Attributes.empty()),
        new Node("cat", "Concat", List.of("sl", "sr"), List.of("cat"), new Attributes(attrs("axis", 1L))),
        new Node("up", "Resize", List.of("cat", "roi", "scales"), List.of("up"), new Attributes(attrs("mode", "nearest"))),
        new Node("c2", "Conv", List.of("up", "w2", "b2"), List.of("f2"), new Attributes(attrs("pads", new long[] {1, 1, 1, 1},
            "strides", new long[] {2, 2}))),
        new Node("gate", "Sigmoid", List.of("f2"), List.of("gate"), Attributes.empty()),
        new Node("gated", "Mul", List.of("f2", "gate"), List.of("gated"), Attributes.empty()),
        new Node("gp", "GlobalAveragePool", List.of("gated"), List.of("gp"), Attributes.empty()),
        new Node("fl", "Flatten", List.of("gp"), List.of("embedding"), Attributes.empty()),
        new Node("fc", "Gemm", List.of("embedding", "wf", "bf"), List.of("logits"), new Attributes(attrs("transB", 1L))));
    return new Graph("two", List.of(new ValueInfo("left", new int[] {-1, 1, 8, 8}), new ValueInfo("right", new int[] {-1, 1, 8, 8})),
        List.of("logits", "embedding"), inits, nodes);
  }

  private static Map<String, Tensor> inputs(Random rnd, int n) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("left", Gaussian.tensor(rnd, n, 1, 8, 8));
    m.put("right", Gaussian.tensor(rnd, n, 1, 8, 8));
    return m;
  }

  /** One calibration pass over the data: the fix_points QAT starts from. */
  static QuantParams calibrate(Graph g, QuantConfig cfg, QuantPlan plan, Map<String, Tensor> data) {
    ActivationStats stats = new ActivationStats();
    new Executor(g).run(data, stats.observer(plan), false);
    return QuantParams.decide(g, plan, stats.histograms(), cfg);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void twoInputsTwoOutputsTrainByDistillation() {
    Random rnd = new Random(3);
    Graph g = twoInTwoOut(rnd);
    Map<String, Tensor> train = inputs(rnd, 64), test = inputs(rnd, 16);
    QuantConfig cfg = QuantConfig.defaults().withBits(4);
    QuantPlan plan = QuantPlan.of(g, cfg);
    QuantParams params = calibrate(g, cfg, plan, train);
    QatWorker worker = new QatWorker(g, plan, params);
    DistillationLoss loss = DistillationLoss.of(g, train);
    QatTrainer.Settings s = new QatTrainer.Settings("adam", 0.9, 0, new LrSchedule(LrSchedule.Kind.CONSTANT, 3e-3, 0, 16, 0, 1), 0, 0.1);
    List<QatTrainer> runs = new ArrayList<>();
    List<List<Double>> losses = new ArrayList<>();
    for (int threads : new int[] {1, 2}) {
      QatTrainer t = QatTrainer.start(worker, s, "two");
      if (threads == 1) {
        QatLoss.Batch held = new QatLoss.Batch(test, null);
        runs.add(t);
        losses.add(List.of(loss.evaluate(held, worker.outputs(t.weights(), test)).sum()));
      }
      try (QatLocal local = new QatLocal(worker, train, null, loss, new EpochOrder(64, 16, 4, 5), threads)) {
        losses.add(local.train(t, 16));
      }
      runs.add(t);
    }
    QatTrainer one = runs.get(1), two = runs.get(2);
    // the same bits on 1 and 2 threads: losses and every parameter
    assertEquals(losses.get(1), losses.get(2));
    for (String p : one.state().params.keySet()) assertArrayEquals(one.state().params.get(p), two.state().params.get(p), p);
    // training by distillation brings the held-out fake-quant outputs closer to the float model's
    double before = losses.get(0).get(0);
    double after = loss.evaluate(new QatLoss.Batch(test, null), worker.outputs(one.weights(), test)).sum();
    assertTrue(after < 0.8 * before, "held-out distillation loss " + before + " -> " + after);
    // and what was trained is what deploys: the trained forward pass is the fake-quant inference model, bit for bit
    QuantizedModel qm = new QuantizedModel(one.inference(), plan, params);
    Map<String, Tensor> deployed = qm.run(qm.executor(1), test), trained = worker.outputs(one.weights(), test);
    for (String o : g.outputs()) assertArrayEquals(deployed.get(o).data(), trained.get(o).data(), o);
  }

  /** A classifier's cross-entropy plus distillation: labels and float targets in one step. */
  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void crossEntropyPlusDistillation() {
    Random rnd = new Random(4);
    Graph g = twoInTwoOut(rnd);
    Map<String, Tensor> train = inputs(rnd, 32);
    QuantConfig cfg = QuantConfig.defaults().withBits(6);
    QuantPlan plan = QuantPlan.of(g, cfg);
    QatWorker worker = new QatWorker(g, plan, calibrate(g, cfg, plan, train));
    int[] labels = new int[32];
    for (int i = 0; i < labels.length; i++) labels[i] = rnd.nextInt(3);
    QatLoss ce = new CrossEntropyLoss("logits"), distill = DistillationLoss.of(g, train), both = ce.plus(distill, 0.5);
    QatTrainer t = QatTrainer.start(worker, new QatTrainer.Settings("sgd", 0.9, 0, new LrSchedule(LrSchedule.Kind.CONSTANT, 1e-2,
        0, 4, 0, 1), 0, 0.1), "ce");
    QatLoss.Batch batch = new QatLoss.Batch(Map.of("left", train.get("left").slice0(0, 8), "right", train.get("right").slice0(0, 8)),
        java.util.Arrays.copyOf(labels, 8));
    QatGradient.Part p = worker.gradient(t.weights(), batch, both);
    QatGradient.Part a = worker.gradient(t.weights(), batch, ce), b = worker.gradient(t.weights(), batch, distill);
    assertEquals(a.lossSum() + 0.5 * b.lossSum(), p.lossSum(), 1e-9 * p.lossSum());
    assertEquals(a.correct(), p.correct());
    assertEquals(8, p.count());
    for (int i = 0; i < p.gradients().length; i++) {
      for (int k = 0; k < p.gradients()[i].length; k++) {
        double expected = a.gradients()[i][k] + 0.5 * b.gradients()[i][k];
        assertEquals(expected, p.gradients()[i][k], 1e-4 * (Math.abs(a.gradients()[i][k]) + Math.abs(b.gradients()[i][k])) + 1e-7);
      }
    }
    try (QatLocal local = new QatLocal(worker, train, labels, both, new EpochOrder(32, 8, 4, 1), 2)) {
      for (double l : local.train(t, 4)) assertTrue(Double.isFinite(l) && l > 0);
    }
  }

  /** A model with ops that have no gradient between its weights and its outputs is refused, every such op named. */
  @Test
  void opsWithoutGradientAreNamedAtOnce() {
    Random rnd = new Random(5);
    Map<String, Tensor> inits = new LinkedHashMap<>();
    inits.put("w", rand(rnd, 0.4, 2, 1, 3, 3));
    inits.put("pads", Tensor.ofLongs(new long[] {0, 0, 1, 1, 0, 0, 1, 1}, 8));
    inits.put("starts", Tensor.ofLongs(new long[] {1}, 1));
    inits.put("ends", Tensor.ofLongs(new long[] {3}, 1));
    inits.put("axes", Tensor.ofLongs(new long[] {2}, 1));
    Graph g = new Graph("bad", List.of(new ValueInfo("x", new int[] {-1, 1, 6, 6})), List.of("y"), inits, List.of(
        new Node("c", "Conv", List.of("x", "w"), List.of("c"), Attributes.empty()),
        new Node("p", "Pad", List.of("c", "pads"), List.of("p"), Attributes.empty()),
        new Node("s", "Slice", List.of("p", "starts", "ends", "axes"), List.of("y"), Attributes.empty())));
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(g, cfg);
    QuantParams params = calibrate(g, cfg, plan, Map.of("x", Gaussian.tensor(rnd, 4, 1, 6, 6)));
    String m = assertThrows(IllegalArgumentException.class, () -> new QatWorker(g, plan, params)).getMessage();
    assertTrue(m.startsWith("QAT cannot train through 2 ops without a gradient: ") && m.contains("Pad") && m.contains("Slice"), m);
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.quant.DpuGraph;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.ParamQuant;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * One QAT forward and backward pass over a micro-batch: fake-quant at the deployed model's
 * quantization points (the calibration's fix_points, fixed), softmax cross-entropy against the
 * labels, gradients of the summed loss for every trainable parameter (straight-through
 * estimator, zero outside the quantization range). The graphs are built once; weights arrive
 * as feeds, so one worker serves every step and thread. With learned thresholds (TQT) the
 * step's quantizers arrive with the weights, and the parts carry the thresholds' gradients
 * ({@link TqtGrad}).
 */
public final class QatWorker {
  private final QatGraph qat;
  private final QuantPlan plan;
  private final Function<String, FixPoint> quantizer;
  private final Graph batchGraph;
  private final Backprop batchStatistics;
  private final List<Node> batchNorms = new ArrayList<>();
  private final Graph frozenGraph;
  private final TqtThresholds thresholds;
  private volatile Backprop frozen;
  private volatile Backprop.OpTimer timer;

  public QatWorker(Graph floatGraph, QuantPlan plan, QuantParams params) {
    this.qat = QatGraph.of(floatGraph);
    this.plan = plan;
    this.quantizer = quantizer(plan, params);
    this.batchGraph = qat.batchStatistics(plan);
    this.batchStatistics = new Backprop(batchGraph, Set.of(batchGraph.inputs().get(0).name()));
    for (Node n : batchGraph.nodes()) if (n.opType().equals(QatBatchNorm.OP_TYPE)) batchNorms.add(n);
    Graph inference = qat.inference(Map.of());
    this.frozenGraph = DpuGraph.of(inference, plan);
    this.thresholds = new TqtThresholds(inference, plan, params);
  }

  private static Function<String, FixPoint> quantizer(QuantPlan plan, QuantParams params) {
    Map<String, FixPoint> ps = new HashMap<>();
    for (Map.Entry<String, ParamQuant> e : params.quantizers().entrySet()) ps.put(e.getKey(), e.getValue().perTensor());
    return name -> {
      FixPoint p = ps.get(name);
      if (p != null) return p;
      String pt = plan.pointOf(name);
      return pt == null ? null : params.activation(pt);
    };
  }

  private Function<String, FixPoint> quantizer(QatWeights w) {
    return w.learnsThresholds() ? quantizer(plan, w.quantizers()) : quantizer;
  }

  /** The points whose thresholds TQT learns, and the calibration they start from. */
  public TqtThresholds thresholds() {
    return thresholds;
  }

  public QatGraph graph() {
    return qat;
  }

  /** The batch-statistics BatchNorms, in graph order: the order of {@link QatGradient.Part#bnStatistics}. */
  public List<Node> batchNorms() {
    return batchNorms;
  }

  private Backprop frozen() {
    Backprop b = frozen;
    if (b == null) {
      synchronized (this) {
        if (frozen == null) {
          Backprop f = new Backprop(frozenGraph, Set.of(frozenGraph.inputs().get(0).name()));
          f.timer(timer);
          frozen = f;
        }
        b = frozen;
      }
    }
    return b;
  }

  /** Times every node of both training graphs from now on (null: stop); for profiles. */
  public synchronized void timer(Backprop.OpTimer t) {
    timer = t;
    batchStatistics.timer(t);
    if (frozen != null) frozen.timer(t);
  }

  /** The model's fake-quant logits under these weights (batch statistics before the freeze). */
  public Tensor logits(QatWeights w, Tensor input) {
    Graph g = w.frozen() ? frozenGraph : batchGraph;
    return (w.frozen() ? frozen() : batchStatistics).forward(feeds(w, g, input), quantizer(w)).value(g.outputs().get(0));
  }

  private Map<String, Tensor> feeds(QatWeights w, Graph g, Tensor input) {
    Map<String, Tensor> feeds = new HashMap<>();
    feeds.put(g.inputs().get(0).name(), input);
    w.values().forEach((k, v) -> {
      Tensor t = g.initializers().get(k);
      if (t != null) feeds.put(k, Tensor.of(v, t.shape()));
    });
    if (!w.frozen()) feeds.putAll(qat.invStdFeeds(w.values()));
    return feeds;
  }

  public QatGradient.Part gradient(QatWeights w, Tensor input, int[] labels) {
    Backprop bp = w.frozen() ? frozen() : batchStatistics;
    Graph g = w.frozen() ? frozenGraph : batchGraph;
    Backprop.Tape tape = bp.forward(feeds(w, g, input), quantizer(w));
    String out = g.outputs().get(0);
    Tensor logits = tape.value(out);
    int n = logits.dim(0), c = logits.dim(1);
    SoftmaxCrossEntropy.Result r = SoftmaxCrossEntropy.of(logits, labels);
    float[] seed = r.gradient().data();
    for (int i = 0; i < seed.length; i++) seed[i] *= n; // the summed loss: parts add up to the batch's
    TqtGrad tqt = w.learnsThresholds() ? new TqtGrad(thresholds::indexOf, thresholds.points().size()) : null;
    Map<String, Tensor> grads = bp.backward(tape, Map.of(out, Tensor.of(seed, n, c)), tqt == null ? Backprop.STE : tqt);
    float[][] gs = new float[w.trainable().size()][];
    for (int i = 0; i < gs.length; i++) {
      String name = w.trainable().get(i);
      Tensor gt = grads.get(name);
      gs[i] = gt == null ? new float[w.values().get(name).length] : gt.data();
    }
    long correct = 0;
    float[] z = logits.data();
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int j = 1; j < c; j++) if (z[i * c + j] > z[i * c + best]) best = j;
      if (best == labels[i]) correct++;
    }
    double[][] bn = new double[w.frozen() ? 0 : 2 * batchNorms.size()][];
    for (int i = 0; i < bn.length / 2; i++) {
      // the statistics the forward pass normalized with (QatBatchNorm's outputs 1 and 2)
      Node b = batchNorms.get(i);
      Tensor x = tape.value(b.input(0));
      float[] mean = tape.value(b.outputs().get(1)).data(), var = tape.value(b.outputs().get(2)).data();
      double m = (double) x.size() / x.dim(1);
      bn[2 * i] = new double[mean.length];
      bn[2 * i + 1] = new double[var.length];
      for (int k = 0; k < var.length; k++) {
        bn[2 * i][k] = mean[k];
        bn[2 * i + 1][k] = var[k] * (m / Math.max(1, m - 1)); // unbiased, as PyTorch's running_var
      }
    }
    return new QatGradient.Part(gs, r.loss() * n, correct, n, bn, tqt == null ? new double[0] : tqt.sums());
  }
}

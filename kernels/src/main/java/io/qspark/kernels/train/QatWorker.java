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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * One QAT forward and backward pass over a micro-batch: fake-quant at the deployed model's
 * quantization points (the calibration's fix_points, fixed), a {@link QatLoss} of the model's
 * outputs (softmax cross-entropy against labels for classifiers, distillation from the float
 * model for any model), gradients of the summed loss for every trainable parameter
 * (straight-through estimator, zero outside the quantization range). Any number of inputs and
 * outputs. The graphs are built once; weights arrive as feeds, so one worker serves every step
 * and thread. With learned thresholds (TQT) the step's quantizers arrive with the weights, and
 * the parts carry the thresholds' gradients ({@link TqtGrad}).
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

  /**
   * @throws IllegalArgumentException for a model QAT cannot train: a fixed-batch export run in
   *     chunks, or ops without a gradient between a trained parameter and an output (all named)
   */
  public QatWorker(Graph floatGraph, QuantPlan plan, QuantParams params) {
    if (floatGraph.batchChunk() > 0) {
      throw new IllegalArgumentException("QAT needs a model that takes any batch; this one was exported with a fixed batch of "
          + floatGraph.batchChunk() + " that its graph does not let be freed (export it with a dynamic batch)");
    }
    this.qat = QatGraph.of(floatGraph);
    this.plan = plan;
    this.quantizer = quantizer(plan, params);
    this.batchGraph = qat.batchStatistics(plan);
    Graph inference = qat.inference(Map.of());
    this.frozenGraph = DpuGraph.of(inference, plan);
    List<String> unsupported = Backprop.unsupported(batchGraph, inputNames(batchGraph));
    for (String u : Backprop.unsupported(frozenGraph, inputNames(frozenGraph))) {
      if (!unsupported.contains(u)) unsupported.add(u);
    }
    if (!unsupported.isEmpty()) {
      throw new IllegalArgumentException("QAT cannot train through " + unsupported.size() + " op" + (unsupported.size() > 1 ? "s" : "")
          + " without a gradient: " + String.join(", ", unsupported));
    }
    this.batchStatistics = new Backprop(batchGraph, inputNames(batchGraph));
    for (Node n : batchGraph.nodes()) if (n.opType().equals(QatBatchNorm.OP_TYPE)) batchNorms.add(n);
    this.thresholds = new TqtThresholds(inference, plan, params);
  }

  private static Set<String> inputNames(Graph g) {
    Set<String> r = new java.util.LinkedHashSet<>();
    for (var in : g.inputs()) r.add(in.name());
    return r;
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
          Backprop f = new Backprop(frozenGraph, inputNames(frozenGraph));
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

  /** The model's fake-quant logits under these weights (batch statistics before the freeze); one-input, first output. */
  public Tensor logits(QatWeights w, Tensor input) {
    return outputs(w, Map.of(onlyInput(), input)).get(batchGraph.outputs().get(0));
  }

  /** Every output of the fake-quant model under these weights (batch statistics before the freeze), by name. */
  public Map<String, Tensor> outputs(QatWeights w, Map<String, Tensor> inputs) {
    Graph g = w.frozen() ? frozenGraph : batchGraph;
    Backprop.Tape tape = (w.frozen() ? frozen() : batchStatistics).forward(feeds(w, g, inputs), quantizer(w));
    Map<String, Tensor> r = new LinkedHashMap<>();
    for (String o : g.outputs()) r.put(o, tape.value(o));
    return r;
  }

  private String onlyInput() {
    if (batchGraph.inputs().size() != 1) {
      throw new IllegalArgumentException("the model has " + batchGraph.inputs().size() + " inputs; give a tensor for each by name");
    }
    return batchGraph.inputs().get(0).name();
  }

  private Map<String, Tensor> feeds(QatWeights w, Graph g, Map<String, Tensor> inputs) {
    Map<String, Tensor> feeds = new HashMap<>();
    for (var in : g.inputs()) {
      Tensor t = inputs.get(in.name());
      if (t == null) {
        throw new IllegalArgumentException("no data for the model's input '" + in.name() + "' (given: "
            + String.join(", ", inputs.keySet()) + ")");
      }
      feeds.put(in.name(), t);
    }
    w.values().forEach((k, v) -> {
      Tensor t = g.initializers().get(k);
      if (t != null) feeds.put(k, Tensor.of(v, t.shape()));
    });
    if (!w.frozen()) feeds.putAll(qat.invStdFeeds(w.values()));
    return feeds;
  }

  /** Softmax cross-entropy of the first output against the labels: a one-input classifier's step. */
  public QatGradient.Part gradient(QatWeights w, Tensor input, int[] labels) {
    return gradient(w, new QatLoss.Batch(Map.of(onlyInput(), input), labels), new CrossEntropyLoss(batchGraph.outputs().get(0)));
  }

  /** The gradient part of one micro-batch under a loss: the loss's sum and its gradients for every trainable parameter. */
  public QatGradient.Part gradient(QatWeights w, QatLoss.Batch batch, QatLoss loss) {
    Backprop bp = w.frozen() ? frozen() : batchStatistics;
    Graph g = w.frozen() ? frozenGraph : batchGraph;
    Backprop.Tape tape = bp.forward(feeds(w, g, batch.inputs()), quantizer(w));
    Map<String, Tensor> outs = new LinkedHashMap<>();
    for (String o : g.outputs()) outs.put(o, tape.value(o));
    QatLoss.Value v = loss.evaluate(batch, outs);
    int n = batch.size();
    TqtGrad tqt = w.learnsThresholds() ? new TqtGrad(thresholds::indexOf, thresholds.points().size()) : null;
    Map<String, Tensor> grads = bp.backward(tape, v.gradients(), tqt == null ? Backprop.STE : tqt);
    float[][] gs = new float[w.trainable().size()][];
    for (int i = 0; i < gs.length; i++) {
      String name = w.trainable().get(i);
      Tensor gt = grads.get(name);
      gs[i] = gt == null ? new float[w.values().get(name).length] : gt.data();
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
    return new QatGradient.Part(gs, v.sum(), v.correct(), n, bn, tqt == null ? new double[0] : tqt.sums());
  }
}

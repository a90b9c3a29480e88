package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.QuantParams;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The driver's side of QAT: holds the {@link QatState}, turns each step's reduced gradient into
 * new weights (optimizer, weight decay, learning-rate schedule), moves BatchNorm's running
 * statistics by the step's batch statistics, and at the freeze step folds BatchNorm into the
 * convs ({@link QatGraph}), after which the parameters are the deployed model's own. With
 * learned thresholds (TQT) it also steps the log2 thresholds and hands workers each step's
 * legalised quantizers ({@link TqtThresholds}).
 */
public final class QatTrainer {
  /**
   * @param freezeStep the step from which BatchNorm uses its running statistics, folded (0:
   *     from the start; at or past the last step: only for the export)
   * @param bnMomentum PyTorch's BatchNorm momentum: running = (1 - m) running + m batch
   * @param learnThresholds TQT: activation points learn their log2 thresholds (else the
   *     calibration's fix_points stay)
   * @param thresholdLrScale the thresholds' learning rate relative to the weights'
   */
  public record Settings(String optimizer, double momentum, double weightDecay, LrSchedule schedule, long freezeStep,
      double bnMomentum, boolean learnThresholds, double thresholdLrScale) implements java.io.Serializable {
    /** Fixed fix_points. */
    public Settings(String optimizer, double momentum, double weightDecay, LrSchedule schedule, long freezeStep, double bnMomentum) {
      this(optimizer, momentum, weightDecay, schedule, freezeStep, bnMomentum, false, 1);
    }
  }

  private final QatWorker worker;
  private final Settings settings;
  private final QatState state;

  private QatTrainer(QatWorker worker, Settings settings, QatState state) {
    this.worker = worker;
    this.settings = settings;
    this.state = state;
  }

  /** A new run from the float model's weights. */
  public static QatTrainer start(QatWorker worker, Settings s, String identity) {
    QatState st = new QatState(Optimizer.of(s.optimizer(), s.momentum(), s.weightDecay()), identity);
    QatGraph g = worker.graph();
    Map<String, io.qspark.kernels.tensor.Tensor> inits = g.floatGraph().initializers();
    for (String p : g.trainableBeforeFreeze()) st.params.put(p, inits.get(p).data().clone());
    for (Node n : worker.batchNorms()) {
      st.running.put(n.input(3), inits.get(n.input(3)).data().clone());
      st.running.put(n.input(4), inits.get(n.input(4)).data().clone());
    }
    if (s.learnThresholds()) {
      st.logThresholds = worker.thresholds().initial();
      // no weight decay: it would pull thresholds towards 1
      st.thresholdOptimizer = Optimizer.of(s.optimizer(), s.momentum(), 0);
    }
    QatTrainer t = new QatTrainer(worker, s, st);
    if (s.freezeStep() <= 0) t.freeze();
    return t;
  }

  /** A run continued from a checkpoint; fails if the checkpoint belongs to another run. */
  public static QatTrainer resume(QatWorker worker, Settings s, QatState st, String identity) {
    if (!st.identity.equals(identity)) {
      throw new IllegalArgumentException("the checkpoint belongs to another run (" + st.identity + "), not this one (" + identity + ")");
    }
    return new QatTrainer(worker, s, st);
  }

  public QatState state() {
    return state;
  }

  public long step() {
    return state.step;
  }

  public double learningRate() {
    return settings.schedule().at(state.step);
  }

  /** The weights workers compute the next step with. */
  public QatWeights weights() {
    return new QatWeights(state.frozen, new ArrayList<>(state.params.keySet()), merged(),
        state.logThresholds == null ? null : quantizers());
  }

  /** The quantizers of the model trained so far: the calibration's, or with TQT those of the current thresholds, legalised. */
  public QuantParams quantizers() {
    TqtThresholds th = worker.thresholds();
    return state.logThresholds == null ? th.calibrated() : th.params(state.logThresholds);
  }

  /** Applies one step's reduced gradient; returns the step's loss and accuracy (before the update). */
  public QatGradient.Total apply(QatGradient g) {
    return apply(g.total());
  }

  /** The same with the step's total already formed (the gradients summed where the parts were: {@link QatGradient#total(double[][])}). */
  public QatGradient.Total apply(QatGradient.Total t) {
    double lr = learningRate();
    List<String> names = new ArrayList<>(state.params.keySet());
    if (t.gradients().length != names.size()) throw new IllegalStateException("gradient of " + t.gradients().length + " parameters, expected " + names.size());
    for (int i = 0; i < names.size(); i++) state.optimizer.step(names.get(i), state.params.get(names.get(i)), t.gradients()[i], lr);
    if (state.logThresholds != null) {
      if (t.thresholdGradients().length != state.logThresholds.length) {
        throw new IllegalStateException("gradient of " + t.thresholdGradients().length + " thresholds, expected " + state.logThresholds.length);
      }
      state.thresholdOptimizer.step("log_thresholds", state.logThresholds, t.thresholdGradients(), lr * settings.thresholdLrScale());
    }
    if (!state.frozen) {
      List<Node> bns = worker.batchNorms();
      double m = settings.bnMomentum();
      for (int i = 0; i < bns.size(); i++) {
        update(state.running.get(bns.get(i).input(3)), t.bnStatistics()[2 * i], m);
        update(state.running.get(bns.get(i).input(4)), t.bnStatistics()[2 * i + 1], m);
      }
    }
    state.step++;
    if (!state.frozen && state.step >= settings.freezeStep()) freeze();
    return t;
  }

  private static void update(float[] running, double[] batch, double m) {
    for (int k = 0; k < running.length; k++) running[k] = (float) ((1 - m) * running[k] + m * batch[k]);
  }

  /** BatchNorm frozen at its running statistics and folded: from now on the parameters are the deployed graph's. */
  private void freeze() {
    Graph inf = worker.graph().inference(merged());
    state.params.clear();
    for (String p : QatGraph.trainableAfterFreeze(inf)) state.params.put(p, inf.initializers().get(p).data().clone());
    // running statistics stay: a BatchNorm that no conv absorbed still reads them
    state.optimizer.reset();
    state.frozen = true;
  }

  private Map<String, float[]> merged() {
    Map<String, float[]> v = new LinkedHashMap<>(state.params);
    v.putAll(state.running);
    return v;
  }

  /** The deployed model's graph with the weights trained so far (BatchNorm folded at its running statistics). */
  public Graph inference() {
    if (!state.frozen) return worker.graph().inference(merged());
    return QatGraph.withValues(worker.graph().inference(Map.of()), merged());
  }
}

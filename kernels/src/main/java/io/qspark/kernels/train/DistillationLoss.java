package io.qspark.kernels.train;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Distillation from the float model, for models without labels or without a class axis
 * (detectors, segmenters, embeddings): per output o, the mean squared error between the
 * fake-quant and the float output of an image, divided by v_o, the variance of the float
 * output's values (so outputs of different scales weigh alike), summed over the outputs:
 * loss(image) = Σ_o Σ_e (q_oe − f_oe)² / (v_o · E_o), E_o the output's values per image. Its
 * gradient at q_oe is 2 (q_oe − f_oe) / (v_o · E_o). The variances are fixed for the run (from
 * a sample, {@link #variances}, or merged from a distributed pass, {@link OutputMoments}), so an
 * image's loss does not depend on its micro-batch. The
 * float outputs are computed per micro-batch by the teacher graph; sums are in double, in
 * output then index order.
 */
public final class DistillationLoss implements QatLoss {
  private final Executor teacher;
  private final Map<String, Double> variances;

  /**
   * @param teacher the float model (the same inputs and output names as the trained one)
   * @param variances the outputs to distill, each with its float variance (&gt; 0), in the order the loss sums them
   */
  public DistillationLoss(Graph teacher, Map<String, Double> variances) {
    if (variances.isEmpty()) throw new IllegalArgumentException("distillation needs at least one output");
    variances.forEach((name, v) -> {
      if (!teacher.outputs().contains(name)) {
        throw new IllegalArgumentException("distillation: the model has no output '" + name + "' (its outputs: "
            + String.join(", ", teacher.outputs()) + ")");
      }
      if (!(v > 0) || Double.isInfinite(v)) {
        throw new IllegalArgumentException("distillation: output '" + name + "' has variance " + v + " on the sample; "
            + "a constant output cannot be distilled");
      }
    });
    this.teacher = new Executor(teacher);
    this.variances = new LinkedHashMap<>(variances);
  }

  /** Distills every output of the teacher, each normalized by its variance on {@code sample}. */
  public static DistillationLoss of(Graph teacher, Map<String, Tensor> sample) {
    return new DistillationLoss(teacher, variances(teacher, sample));
  }

  /** Each output's float variance over all its values on a sample, exactly ({@link OutputMoments}). */
  public static Map<String, Double> variances(Graph teacher, Map<String, Tensor> sample) {
    Map<String, Tensor> out = new Executor(teacher).run(sample);
    OutputMoments m = new OutputMoments();
    for (String name : teacher.outputs()) m.add(name, out.get(name).data());
    return m.variances();
  }

  public Map<String, Double> variances() {
    return java.util.Collections.unmodifiableMap(variances);
  }

  @Override
  public Value evaluate(Batch batch, Map<String, Tensor> outputs) {
    Map<String, Tensor> target = teacher.run(batch.inputs());
    int n = batch.size();
    double sum = 0;
    Map<String, Tensor> grads = new LinkedHashMap<>();
    for (Map.Entry<String, Double> e : variances.entrySet()) {
      String name = e.getKey();
      Tensor q = outputs.get(name), f = target.get(name);
      if (q == null) throw new IllegalArgumentException("distillation: no output '" + name + "' from the trained model");
      if (!java.util.Arrays.equals(q.shape(), f.shape())) {
        throw new IllegalArgumentException("distillation: output '" + name + "' is " + Tensor.shapeString(q.shape())
            + " in training but " + Tensor.shapeString(f.shape()) + " in the float model");
      }
      float[] qd = q.data(), fd = f.data();
      double scale = 1.0 / (e.getValue() * (qd.length / n));
      double ss = 0;
      float[] g = new float[qd.length];
      for (int i = 0; i < qd.length; i++) {
        double d = (double) qd[i] - fd[i];
        ss += d * d;
        g[i] = (float) (2 * scale * d);
      }
      sum += ss * scale;
      grads.put(name, Tensor.of(g, q.shape()));
    }
    return new Value(sum, grads, 0);
  }
}

package io.qspark.job.spark;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.train.CrossEntropyLoss;
import io.qspark.kernels.train.DistillationLoss;
import io.qspark.kernels.train.QatLoss;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The loss a QAT job trains with, as the driver decides it and tasks rebuild it: softmax
 * cross-entropy of the first output against the labels ({@code distillWeight} 0), distillation
 * from the float model over {@code variances}' outputs (1), or the two mixed, (1 − w) · CE + w ·
 * distillation ({@link QatLoss#mixed}). The variances are the float outputs' over the
 * calibration images ({@link DistillationJob#moments}), fixed for the run.
 *
 * @param variances per distilled output its float variance, in the order the loss sums them; empty without distillation
 */
public record QatLossSpec(double distillWeight, LinkedHashMap<String, Double> variances) implements Serializable {
  public QatLossSpec {
    if (!(distillWeight >= 0 && distillWeight <= 1)) throw new IllegalArgumentException("distillation weight " + distillWeight);
    if (distillWeight > 0 && variances.isEmpty()) throw new IllegalArgumentException("distillation needs the outputs' variances");
    variances = new LinkedHashMap<>(variances);
  }

  /** Cross-entropy against the labels alone, as a classifier trains. */
  public static QatLossSpec labels() {
    return new QatLossSpec(0, new LinkedHashMap<>());
  }

  public static QatLossSpec of(double distillWeight, Map<String, Double> variances) {
    return new QatLossSpec(distillWeight, new LinkedHashMap<>(variances));
  }

  /** Whether the batches carry labels to the loss. */
  public boolean readsLabels() {
    return distillWeight < 1;
  }

  public boolean distills() {
    return distillWeight > 0;
  }

  /** "cross-entropy", "distillation" or "0.7 cross-entropy + 0.3 distillation". */
  public String describe() {
    if (!distills()) return "cross-entropy";
    if (!readsLabels()) return "distillation";
    return String.format(Locale.ROOT, "%s cross-entropy + %s distillation", 1 - distillWeight, distillWeight);
  }

  /**
   * The loss on an executor.
   *
   * @param teacher the float inference graph (the distillation's targets)
   * @param firstOutput the trained graph's first output (the class scores)
   */
  public QatLoss loss(Graph teacher, String firstOutput) {
    QatLoss ce = readsLabels() ? new CrossEntropyLoss(firstOutput) : null;
    QatLoss d = distills() ? new DistillationLoss(teacher, variances) : null;
    return d == null ? ce : ce == null ? d : QatLoss.mixed(ce, d, distillWeight);
  }
}

package io.qspark.job.spark;

import io.qspark.job.preprocess.LabeledImage;
import io.qspark.job.eval.InputBatches;
import io.qspark.job.eval.ScoringPlan;
import io.qspark.kernels.train.QatGradient;
import io.qspark.kernels.train.QatLoss;
import io.qspark.kernels.train.QatWeights;
import io.qspark.kernels.train.QatWorker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One partition's micro-batches for an epoch: by global micro-batch id (step * per-step +
 * index), each micro-batch's images in their order in the epoch's permutation. Built once per
 * epoch by one shuffle; every step then reads the micro-batches it needs from memory.
 */
final class QatShard implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final TreeMap<Long, List<LabeledImage>> batches;

  QatShard(TreeMap<Long, List<LabeledImage>> batches) {
    this.batches = batches;
  }

  /**
   * Gradient parts of the micro-batches of a step that this shard holds.
   *
   * @param loss null: a classifier's cross-entropy against the labels (one input); otherwise the
   *     loss, fed every input and the labels when {@code labels}
   */
  QatGradient gradient(QatWorker worker, QatLoss loss, boolean labels, QatWeights w, ScoringPlan plan, long step, int perStep) {
    QatGradient g = new QatGradient();
    for (Map.Entry<Long, List<LabeledImage>> e : batches.subMap(step * perStep, (step + 1) * perStep).entrySet()) {
      List<LabeledImage> imgs = e.getValue();
      InputBatches.Batch b = new InputBatches(imgs.iterator(), plan.withBatch(imgs.size())).next();
      QatGradient.Part part = loss == null ? worker.gradient(w, b.input(), b.labels())
          : worker.gradient(w, new QatLoss.Batch(b.feeds(), labels ? b.labels() : null), loss);
      g.add((int) (e.getKey() - step * perStep), part);
    }
    return g;
  }

  int size() {
    return batches.size();
  }

  /** Sorts a partition's (micro-batch id, position, image) triples into micro-batches. */
  static QatShard of(java.util.Iterator<scala.Tuple2<Long, scala.Tuple2<Integer, LabeledImage>>> it) {
    TreeMap<Long, TreeMap<Integer, LabeledImage>> byId = new TreeMap<>();
    while (it.hasNext()) {
      var t = it.next();
      byId.computeIfAbsent(t._1(), k -> new TreeMap<>()).put(t._2()._1(), t._2()._2());
    }
    TreeMap<Long, List<LabeledImage>> r = new TreeMap<>();
    byId.forEach((id, m) -> r.put(id, new ArrayList<>(m.values())));
    return new QatShard(r);
  }
}

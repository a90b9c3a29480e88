package io.qspark.kernels.train;

import io.qspark.kernels.exec.Futures;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * QAT in this JVM: the images in memory, each step's micro-batches computed on {@code threads}
 * threads and reduced in micro-batch order, exactly as the Spark job reduces them; the
 * reference the job is tested against, and the benchmark's subject.
 */
public final class QatLocal implements AutoCloseable {
  private final QatWorker worker;
  private final Map<String, Tensor> inputs;
  private final int[] labels;
  private final QatLoss loss;
  private final EpochOrder order;
  private final ExecutorService pool;

  /** A one-input classifier trained by cross-entropy on its first output. */
  public QatLocal(QatWorker worker, Tensor images, int[] labels, EpochOrder order, int threads) {
    this(worker, Map.of(worker.graph().floatGraph().inputs().get(0).name(), images), labels,
        new CrossEntropyLoss(worker.graph().floatGraph().outputs().get(0)), order, threads);
  }

  /**
   * Any model under any loss.
   *
   * @param inputs per graph input its images (the same count each), in the order {@code order} permutes
   * @param labels a class per image, or null
   */
  public QatLocal(QatWorker worker, Map<String, Tensor> inputs, int[] labels, QatLoss loss, EpochOrder order, int threads) {
    this.worker = worker;
    this.inputs = new LinkedHashMap<>(inputs);
    this.labels = labels;
    this.loss = loss;
    this.order = order;
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "qat-local");
      t.setDaemon(true);
      return t;
    });
  }

  /** Runs steps [trainer.step(), until); returns each step's mean loss. */
  public List<Double> train(QatTrainer trainer, long until) {
    List<Double> losses = new ArrayList<>();
    int m = order.microBatchesPerStep();
    int[] perm = null;
    long permEpoch = -1;
    while (trainer.step() < until) {
      long step = trainer.step();
      long epoch = step / order.stepsPerEpoch();
      if (epoch != permEpoch) {
        perm = order.permutation((int) epoch);
        permEpoch = epoch;
      }
      int base = (int) ((step % order.stepsPerEpoch()) * order.batch());
      QatWeights w = trainer.weights();
      List<Future<QatGradient.Part>> fs = new ArrayList<>();
      for (int j = 0; j < m; j++) {
        int from = base + j * order.microBatch(), to = Math.min(base + order.batch(), from + order.microBatch());
        int[] idx = java.util.Arrays.copyOfRange(perm, from, to);
        fs.add(pool.submit(() -> worker.gradient(w, new QatLoss.Batch(gather(idx), labelsOf(idx)), loss)));
      }
      QatGradient g = new QatGradient();
      for (int j = 0; j < m; j++) g.add(j, Futures.join(fs.get(j)));
      losses.add(trainer.apply(g).loss());
    }
    return losses;
  }

  private Map<String, Tensor> gather(int[] idx) {
    Map<String, Tensor> r = new LinkedHashMap<>();
    inputs.forEach((name, images) -> {
      int per = images.size() / images.dim(0);
      float[] x = new float[idx.length * per];
      for (int i = 0; i < idx.length; i++) System.arraycopy(images.data(), idx[i] * per, x, i * per, per);
      int[] shape = images.shape();
      shape[0] = idx.length;
      r.put(name, Tensor.of(x, shape));
    });
    return r;
  }

  private int[] labelsOf(int[] idx) {
    if (labels == null) return null;
    int[] l = new int[idx.length];
    for (int i = 0; i < idx.length; i++) l[i] = labels[idx[i]];
    return l;
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}

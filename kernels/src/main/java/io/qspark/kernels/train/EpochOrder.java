package io.qspark.kernels.train;

import java.util.SplittableRandom;

/**
 * Which images each QAT step and micro-batch takes: per epoch a permutation of all image
 * indices drawn from the seed and the epoch alone (so a resumed run, or another partitioning,
 * draws the same), cut into global batches (the last partial batch is dropped, as PyTorch's
 * drop_last) and each batch into micro-batches. A micro-batch is the unit of BatchNorm's batch
 * statistics and of the gradient parts, whichever partition computes it.
 */
public record EpochOrder(long images, int batch, int microBatch, long seed) implements java.io.Serializable {
  public EpochOrder {
    if (batch < 1 || microBatch < 1 || microBatch > batch) throw new IllegalArgumentException("batch " + batch + ", micro-batch " + microBatch);
    if (images < batch) throw new IllegalArgumentException(images + " images are fewer than one batch of " + batch);
  }

  public long stepsPerEpoch() {
    return images / batch;
  }

  public int microBatchesPerStep() {
    return (batch + microBatch - 1) / microBatch;
  }

  /** Fisher-Yates over 0..images-1 with a generator seeded by (seed, epoch). */
  public int[] permutation(int epoch) {
    int n = Math.toIntExact(images);
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** For each image, the global micro-batch id (step * microBatchesPerStep + index) it falls into this epoch, or -1. */
  public long[] microBatchOf(int epoch) {
    int[] p = permutation(epoch);
    long[] id = new long[p.length];
    java.util.Arrays.fill(id, -1);
    long used = stepsPerEpoch() * batch;
    int m = microBatchesPerStep();
    for (int pos = 0; pos < used; pos++) {
      long step = pos / batch;
      int within = (int) (pos % batch);
      id[p[pos]] = step * m + within / microBatch;
    }
    return id;
  }

  /** Position of an image inside its micro-batch, for a stable order. */
  public int[] positions(int epoch) {
    int[] p = permutation(epoch);
    int[] pos = new int[p.length];
    for (int i = 0; i < p.length; i++) pos[p[i]] = i;
    return pos;
  }
}

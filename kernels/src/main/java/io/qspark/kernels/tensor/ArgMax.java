package io.qspark.kernels.tensor;

/**
 * The index of the largest of n values from an offset: the predicted class of one row of a
 * classifier's [N, classes] output. Ties go to the lower index (the first maximum), as numpy's and
 * PyTorch's argmax do, so top-1 counts agree with theirs; a NaN is never chosen over a number
 * before it (comparisons with NaN are false).
 */
public final class ArgMax {
  private ArgMax() {}

  public static int of(float[] y, int off, int n) {
    int best = 0;
    for (int c = 1; c < n; c++) if (y[off + c] > y[off + best]) best = c;
    return best;
  }

  /** The same over integers (a simulated classifier's output). */
  public static int of(int[] y, int off, int n) {
    int best = 0;
    for (int c = 1; c < n; c++) if (y[off + c] > y[off + best]) best = c;
    return best;
  }
}

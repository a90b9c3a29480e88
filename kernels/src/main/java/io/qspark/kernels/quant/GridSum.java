package io.qspark.kernels.quant;

import java.io.Serializable;
import java.math.BigInteger;

/**
 * A vector of sums, exact and therefore independent of the order and grouping of its terms:
 * each term is rounded once to the fixed grid 2^-{@value #FRACTION_BITS} (a function of the term
 * alone) and added as an integer into 126 bits. Sums merge by integer addition, so a total
 * gathered from any partitioning and any tree of merges is the same, which a double sum would
 * not be. As {@link ChannelSums}, for one flat vector (a layer's gradient).
 */
public final class GridSum implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int FRACTION_BITS = 32;
  private static final double SCALE = 0x1p32;
  /** Terms at or beyond this magnitude would not fit a long on the grid. */
  static final double LIMIT = 0x1p30;
  private static final long CARRY = 1L << 62;

  /** [hi, lo] per element: value (hi * 2^62 + lo) grid units, |lo| < 2^62. */
  private final long[] acc;

  public GridSum(int size) {
    this.acc = new long[2 * size];
  }

  public int size() {
    return acc.length / 2;
  }

  /** Adds x[i] to element offset + i. */
  public void add(int offset, double[] x) {
    for (int i = 0; i < x.length; i++) add(acc, offset + i, x[i]);
  }

  /** Adds x[i] to element offset + i. */
  public void add(int offset, float[] x, int from, int to) {
    for (int i = from; i < to; i++) add(acc, offset + i - from, x[i]);
  }

  /** Adds one term to element i of a [hi, lo] array. */
  static void add(long[] acc, int i, double v) {
    if (!(Math.abs(v) < LIMIT)) throw new IllegalArgumentException("term " + v + " out of the exactly summable range");
    long lo = acc[2 * i + 1] + Math.round(v * SCALE); // |lo| < 2^62 + 2^62: no overflow
    long hi = acc[2 * i];
    if (lo >= CARRY) {
      lo -= CARRY;
      hi++;
    } else if (lo <= -CARRY) {
      lo += CARRY;
      hi--;
    }
    acc[2 * i] = hi;
    acc[2 * i + 1] = lo;
  }

  /** Adds the other sums (same size) into these. */
  public GridSum merge(GridSum o) {
    if (o.acc.length != acc.length) throw new IllegalArgumentException(o.size() + " sums merged into " + size());
    merge(acc, o.acc);
    return this;
  }

  /** Element-wise sum of two [hi, lo] arrays into the first. */
  static void merge(long[] acc, long[] o) {
    for (int c = 0; c < o.length; c += 2) {
      long hi = acc[c] + o[c], lo = acc[c + 1] + o[c + 1]; // |lo| < 2^63: no overflow
      if (lo >= CARRY) {
        lo -= CARRY;
        hi++;
      } else if (lo <= -CARRY) {
        lo += CARRY;
        hi--;
      }
      acc[c] = hi;
      acc[c + 1] = lo;
    }
  }

  /** Element i of a [hi, lo] array, exact, rounded once to double. */
  static double value(long[] acc, int i) {
    long hi = acc[2 * i], lo = acc[2 * i + 1];
    double total = hi == 0 ? (double) lo : BigInteger.valueOf(hi).shiftLeft(62).add(BigInteger.valueOf(lo)).doubleValue();
    return total / SCALE;
  }

  /** The sums, each rounded once to double. */
  public double[] values() {
    double[] r = new double[size()];
    for (int i = 0; i < r.length; i++) r[i] = value(acc, i);
    return r;
  }
}

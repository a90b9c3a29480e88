package io.qspark.kernels.quant;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per-channel sums of many floats, exact and therefore independent of the order they arrive
 * in: each value is rounded once to a fixed grid of 2^-{@value #FRACTION_BITS} (a deterministic
 * function of the value alone) and added as an integer into 126 bits. Partitions' sums merge
 * by integer addition, so the totals, and the means taken from them, are the same for any
 * partitioning and any tree of merges, which a double sum would not be.
 */
public final class ChannelSums implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int FRACTION_BITS = 32;
  private static final double SCALE = 0x1p32;
  /** Values at or beyond this magnitude would not fit a long on the grid. */
  private static final double LIMIT = 0x1p30;
  private static final long CARRY = 1L << 62;

  /** Per key: [hi, lo] per channel (value = hi * 2^62 + lo, |lo| < 2^62), and the count of values per channel. */
  private final TreeMap<String, long[]> sums = new TreeMap<>();
  private final TreeMap<String, Long> counts = new TreeMap<>();

  /**
   * Adds x laid out as [n, channels, rest...] (NCHW or [n, channels]) to key's per-channel sums.
   */
  public void add(String key, float[] x, int n, int channels) {
    int rest = x.length / (n * channels);
    long[] acc = sums.computeIfAbsent(key, k -> new long[2 * channels]);
    if (acc.length != 2 * channels) throw new IllegalArgumentException(key + ": " + channels + " channels, had " + acc.length / 2);
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < channels; c++) {
        int base = (i * channels + c) * rest;
        long hi = acc[2 * c], lo = acc[2 * c + 1];
        for (int j = base; j < base + rest; j++) {
          double v = x[j];
          if (!(Math.abs(v) < LIMIT)) throw new IllegalArgumentException(key + ": value " + v + " out of the summable range");
          lo += Math.round(v * SCALE);
          if (lo >= CARRY) {
            lo -= CARRY;
            hi++;
          } else if (lo <= -CARRY) {
            lo += CARRY;
            hi--;
          }
        }
        acc[2 * c] = hi;
        acc[2 * c + 1] = lo;
      }
    }
    counts.merge(key, (long) n * rest, Long::sum);
  }

  public ChannelSums merge(ChannelSums other) {
    other.sums.forEach((k, o) -> GridSum.merge(sums.computeIfAbsent(k, x -> new long[o.length]), o));
    other.counts.forEach((k, n) -> counts.merge(k, n, Long::sum));
    return this;
  }

  /** Per key, the mean per channel (exact sum, one rounding to double, one division). */
  public Map<String, double[]> means() {
    Map<String, double[]> r = new TreeMap<>();
    sums.forEach((k, acc) -> {
      double[] m = new double[acc.length / 2];
      long n = counts.get(k);
      for (int c = 0; c < m.length; c++) m[c] = GridSum.value(acc, c) / n;
      r.put(k, m);
    });
    return r;
  }

  public long count(String key) {
    return counts.getOrDefault(key, 0L);
  }
}

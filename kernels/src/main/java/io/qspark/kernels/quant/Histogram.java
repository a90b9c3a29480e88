package io.qspark.kernels.quant;

import java.io.ByteArrayOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;

/**
 * A histogram of tensor values whose bins are fixed by the float format itself: each octave
 * [2^e, 2^(e+1)) is split into 128 equal bins (the top 7 mantissa bits), per sign. Bins never
 * move, so merging is adding counts: associative, commutative and exact, and the merged
 * histogram is bit-identical however the data was partitioned or ordered.
 *
 * <p>Every bin edge has at most 8 significant bits, and so does every rounding boundary
 * (j + 0.5) * 2^-fp of a quantizer of up to 8 bits: each bin then quantizes to a single
 * integer at every fix_point (bar an exact negative tie on a bin's edge), and threshold search
 * on the histogram sees the integer each value becomes; only the position of a value inside
 * its bin (0.8% of the value) is approximated, by the bin's midpoint.
 *
 * <p>Magnitudes below 2^-24 (under half a step at any fix_point qspark chooses) count as zero.
 * NaN and infinities are counted apart so calibration can refuse them.
 */
public final class Histogram implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int SUB_BITS = 7;
  static final int SUBS = 1 << SUB_BITS;
  /** Smallest octave kept: 2^-24. */
  static final int MIN_EXP = -24;
  /** Float exponent field of the smallest octave kept. */
  private static final int MIN_FIELD = MIN_EXP + 127;
  private static final int OCTAVES = 254 - MIN_FIELD + 1;
  private static final int FORMAT = 1;

  /** [sign][octave] lazily allocated blocks of SUBS counts; sign 0 positive, 1 negative. */
  private final long[][][] bins = new long[2][OCTAVES][];
  private long zeros;
  private long nonFinite;
  private long count;
  private float min = Float.POSITIVE_INFINITY;
  private float max = Float.NEGATIVE_INFINITY;

  /** Below this many values the per-value loop beats the counting table's fold. */
  private static final int TABLE_MIN = 2048;
  /** Values keyed per round: the key buffer stays in L1. */
  private static final int CHUNK = 2048;
  /** Magnitude keys of NaN and the infinities: float exponent field 0xff. */
  private static final int NON_FINITE_KEY = 0xff << SUB_BITS;

  /** Counters per key: consecutive values count into different ones. */
  private static final int WAYS = 4;
  /**
   * Per-thread scratch: a counting table indexed by a value's bin key (its top 16 float bits,
   * tiny magnitudes folded onto one key), so the counting loop has no branch, with WAYS
   * counters per key side by side for values at consecutive positions, so that runs of equal
   * values (ReLU's zeros) do not serialize on one counter's store-to-load latency. Then the
   * keys buffer.
   */
  private static final ThreadLocal<int[][]> SCRATCH =
      ThreadLocal.withInitial(() -> new int[][] {new int[WAYS << 16], new int[CHUNK]});

  /** Adds x[from, to). */
  public void update(float[] x, int from, int to) {
    int n = to - from;
    if (n < TABLE_MIN) {
      updateEach(x, from, to);
      return;
    }
    int[][] scratch = SCRATCH.get();
    int[] table = scratch[0], keys = scratch[1];
    int[] range = {Integer.MAX_VALUE, Integer.MIN_VALUE};
    for (int c = from; c < to; c += CHUNK) {
      int len = Math.min(CHUNK, to - c);
      BinKeys.compute(x, c, c + len, keys, range);
      int j = 0;
      for (; j + WAYS <= len; j += WAYS) {
        table[keys[j] << 2]++;
        table[(keys[j + 1] << 2) | 1]++;
        table[(keys[j + 2] << 2) | 2]++;
        table[(keys[j + 3] << 2) | 3]++;
      }
      for (; j < len; j++) table[keys[j] << 2]++;
    }
    float lo = Float.intBitsToFloat(BinKeys.ordered(range[0]));
    float hi = Float.intBitsToFloat(BinKeys.ordered(range[1]));
    long bad = fold(table, 0, hi) + fold(table, 1, lo);
    if (bad > 0) {
      // the extremes were NaN or infinite: take them over the finite values only
      lo = Float.POSITIVE_INFINITY;
      hi = Float.NEGATIVE_INFINITY;
      for (int i = from; i < to; i++) {
        float v = x[i];
        if (Float.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (lo <= hi) {
      min = Math.min(min, lo);
      max = Math.max(max, hi);
    }
    nonFinite += bad;
    count += n - bad;
  }

  /**
   * Moves one sign's counts from the tables into the bins and clears them. That sign's counts
   * lie between ZERO_KEY and the key of the extreme value (largest for +, smallest for -), so
   * only that range is read; a NaN extreme means the whole range. Returns the count of
   * non-finite values.
   */
  private long fold(int[] table, int sign, float extreme) {
    int top = Float.isNaN(extreme) ? 0x7fff : BinKeys.key(Float.floatToRawIntBits(Math.abs(extreme)));
    int base = sign << 15;
    long bad = 0;
    for (int m = BinKeys.ZERO_KEY; m <= top; m++) {
      int k = (base | m) * WAYS;
      int c = 0;
      for (int w = 0; w < WAYS; w++) {
        c += table[k + w];
        table[k + w] = 0;
      }
      if (c == 0) continue;
      if (m == BinKeys.ZERO_KEY) {
        zeros += c;
      } else if (m >= NON_FINITE_KEY) {
        bad += c;
      } else {
        int field = m >>> SUB_BITS;
        long[] block = bins[sign][field - MIN_FIELD];
        if (block == null) block = bins[sign][field - MIN_FIELD] = new long[SUBS];
        block[m & (SUBS - 1)] += c;
      }
    }
    return bad;
  }

  /** The per-value loop, for short runs; also the reference the table path is tested against. */
  void updateEach(float[] x, int from, int to) {
    float mn = min, mx = max;
    long z = 0, bad = 0;
    for (int i = from; i < to; i++) {
      float v = x[i];
      int b = Float.floatToRawIntBits(v);
      int field = (b >>> 23) & 0xff;
      if (field == 0xff) {
        bad++;
        continue;
      }
      // Math.min/max order -0.0 below 0.0, so min and max do not depend on the order of values
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
      if (field < MIN_FIELD) {
        z++;
        continue;
      }
      long[] block = bins[b >>> 31][field - MIN_FIELD];
      if (block == null) block = bins[b >>> 31][field - MIN_FIELD] = new long[SUBS];
      block[(b >>> (23 - SUB_BITS)) & (SUBS - 1)]++;
    }
    min = mn;
    max = mx;
    zeros += z;
    nonFinite += bad;
    count += to - from - bad;
  }

  public void update(float[] x) {
    update(x, 0, x.length);
  }

  /** Adds other's counts into this one; other is unchanged. */
  public Histogram merge(Histogram other) {
    for (int s = 0; s < 2; s++) {
      for (int o = 0; o < OCTAVES; o++) {
        long[] src = other.bins[s][o];
        if (src == null) continue;
        long[] dst = bins[s][o];
        if (dst == null) dst = bins[s][o] = new long[SUBS];
        for (int i = 0; i < SUBS; i++) dst[i] += src[i];
      }
    }
    zeros += other.zeros;
    nonFinite += other.nonFinite;
    count += other.count;
    min = Math.min(min, other.min);
    max = Math.max(max, other.max);
    return this;
  }

  /** Finite values seen. */
  public long count() {
    return count;
  }

  public long nonFinite() {
    return nonFinite;
  }

  /** Smallest finite value (+inf when empty). */
  public float min() {
    return min;
  }

  public float max() {
    return max;
  }

  /** A visitor over non-empty bins, in increasing order of value. */
  public interface BinVisitor {
    /** [lo, hi) with lo < hi for positive bins; for negative bins lo and hi are negative. */
    void bin(double lo, double hi, long count);
  }

  /** Visits the zero bin (as [0, 0)) and every non-empty bin, from most negative to largest. */
  public void forEachBin(BinVisitor v) {
    for (int o = OCTAVES - 1; o >= 0; o--) {
      long[] block = bins[1][o];
      if (block == null) continue;
      for (int i = SUBS - 1; i >= 0; i--) {
        if (block[i] != 0) v.bin(-upper(o, i), -lower(o, i), block[i]);
      }
    }
    if (zeros != 0) v.bin(0, 0, zeros);
    for (int o = 0; o < OCTAVES; o++) {
      long[] block = bins[0][o];
      if (block == null) continue;
      for (int i = 0; i < SUBS; i++) {
        if (block[i] != 0) v.bin(lower(o, i), upper(o, i), block[i]);
      }
    }
  }

  static double lower(int octave, int sub) {
    return Math.scalb(1.0 + (double) sub / SUBS, octave + MIN_EXP);
  }

  static double upper(int octave, int sub) {
    return Math.scalb(1.0 + (double) (sub + 1) / SUBS, octave + MIN_EXP);
  }

  /**
   * The magnitude below which a fraction p of the values lie, to bin resolution (the upper
   * edge of the bin where the cumulative count of |x| reaches p).
   */
  public double percentileAbs(double p) {
    if (count == 0) return 0;
    long need = (long) Math.ceil(p * count);
    long acc = zeros;
    if (acc >= need) return 0;
    for (int o = 0; o < OCTAVES; o++) {
      for (int i = 0; i < SUBS; i++) {
        long c = 0;
        if (bins[0][o] != null) c += bins[0][o][i];
        if (bins[1][o] != null) c += bins[1][o][i];
        acc += c;
        if (c != 0 && acc >= need) return upper(o, i);
      }
    }
    return Math.max(Math.abs(min), Math.abs(max));
  }

  /** Sum of squared quantization error of q over the histogram, each bin at its midpoint. */
  public double squaredError(FixPoint q) {
    double[] sse = {0};
    forEachBin((lo, hi, c) -> {
      double mid = (lo + hi) / 2;
      double e = mid - q.dequantize(q.quantize(mid));
      sse[0] += c * e * e;
    });
    return sse[0];
  }

  /** Compact form: only non-empty bins, as varint (gap, count) pairs. */
  public byte[] toByteArray() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer head = ByteBuffer.allocate(4 + 3 * 8 + 8);
    head.putInt(FORMAT).putLong(zeros).putLong(nonFinite).putLong(count).putFloat(min).putFloat(max);
    out.write(head.array(), 0, head.position());
    for (int s = 0; s < 2; s++) {
      int last = -1;
      for (int o = 0; o < OCTAVES; o++) {
        if (bins[s][o] == null) continue;
        for (int i = 0; i < SUBS; i++) {
          long c = bins[s][o][i];
          if (c == 0) continue;
          int key = o * SUBS + i;
          writeVarint(out, key - last);
          writeVarint(out, c);
          last = key;
        }
      }
      writeVarint(out, 0); // gap 0 ends a sign: real gaps are >= 1
    }
    return out.toByteArray();
  }

  public static Histogram fromByteArray(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int format = in.getInt();
    if (format != FORMAT) throw new IllegalArgumentException("histogram format " + format + " (expected " + FORMAT + ")");
    Histogram h = new Histogram();
    h.zeros = in.getLong();
    h.nonFinite = in.getLong();
    h.count = in.getLong();
    h.min = in.getFloat();
    h.max = in.getFloat();
    for (int s = 0; s < 2; s++) {
      int key = -1;
      for (long gap = readVarint(in); gap != 0; gap = readVarint(in)) {
        key += (int) gap;
        int o = key / SUBS;
        if (o >= OCTAVES) throw new IllegalArgumentException("corrupt histogram: bin " + key);
        if (h.bins[s][o] == null) h.bins[s][o] = new long[SUBS];
        h.bins[s][o][key % SUBS] = readVarint(in);
      }
    }
    return h;
  }

  private static void writeVarint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7fL) != 0) {
      out.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static long readVarint(ByteBuffer in) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte b = in.get();
      v |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw new IllegalArgumentException("corrupt histogram: varint too long");
  }

  /** Equal counts in every bin and equal summaries. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Histogram h && java.util.Arrays.equals(toByteArray(), h.toByteArray());
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(toByteArray());
  }
}

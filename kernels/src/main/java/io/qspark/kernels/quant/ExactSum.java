package io.qspark.kernels.quant;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/**
 * An exact sum of non-negative finite doubles, so a total does not depend on the order or the
 * grouping of its terms: each term m * 2^e (m its 53-bit integer significand) is added as an
 * integer into the counter of its exponent e, and counters merge by integer addition. The
 * total is formed once, exactly, when read. Unlike a fixed grid ({@link ChannelSums}) no term
 * is rounded, whatever its magnitude: squares of tiny quantization errors count in full.
 * Squares of floats, the bulk of the work, take a faster exact path ({@link #addSquares}).
 */
public final class ExactSum implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int EXPONENTS = 2047;
  private static final long CARRY = 1L << 62;
  private static final long SIGNIFICAND = (1L << 52) - 1;

  /** Per biased exponent field: [hi, lo], value (hi * 2^62 + lo) units of that exponent; lazily allocated. */
  private transient long[] counters;
  /**
   * The fast path for squares of floats: per float exponent field f (four ways, by position, so
   * runs of equal exponents do not serialize on one counter), the sum of squared
   * 24-bit significands, each in units of 2^(2(max(f,1) - 150)). Under 2^48 each, so
   * {@value #FLUSH} of them fit a long; then they move into {@link #counters}.
   */
  private transient long[] squares;
  private transient int pending;
  private static final int FLUSH = 1 << 15;

  /** Adds v (finite, >= 0; -0 and 0 add nothing). */
  public void add(double v) {
    if (!(v >= 0) || v == Double.POSITIVE_INFINITY) throw new IllegalArgumentException("not a finite non-negative term: " + v);
    long bits = Double.doubleToRawLongBits(v);
    int field = (int) (bits >>> 52);
    long m = bits & SIGNIFICAND;
    if (field != 0) m |= 1L << 52;
    else field = 1; // subnormals share the smallest normal's unit
    if (m == 0) return;
    if (counters == null) counters = new long[2 * EXPONENTS];
    int i = 2 * (field - 1);
    long lo = counters[i + 1] + m; // m < 2^53 and lo < 2^62: no overflow
    if (lo >= CARRY) {
      lo -= CARRY;
      counters[i]++;
    }
    counters[i + 1] = lo;
  }

  /** Adds x[i]^2 for every i, exactly. */
  public void addSquares(float[] x) {
    long[] sq = squares();
    for (int from = 0; from < x.length;) {
      int to = Math.min(x.length, from + FLUSH - pending);
      for (int i = from; i < to; i++) {
        int bits = Float.floatToRawIntBits(x[i]);
        int field = (bits >>> 23) & 0xff;
        long m = (bits & 0x7fffff) | (field == 0 ? 0 : 0x800000);
        sq[(field << 2) | (i & 3)] += m * m;
      }
      from = done(from, to);
    }
  }

  /**
   * Adds (x[i] - y[i])^2 for every i. The difference of a value and its quantized value is
   * usually a float itself (the two share a binade, or one is 0), and its square is then added
   * exactly; otherwise (a clipped outlier far beyond the threshold) the square is rounded once to
   * a double, a function of the two values alone, so the sum still does not depend on order.
   */
  public void addSquaredErrors(float[] x, float[] y) {
    long[] sq = squares();
    for (int from = 0; from < x.length;) {
      int to = Math.min(x.length, from + FLUSH - pending);
      for (int i = from; i < to; i++) {
        double d = (double) x[i] - y[i];
        float f = (float) d;
        if (f != d) {
          add(d * d);
          f = 0;
        }
        int bits = Float.floatToRawIntBits(f);
        int field = (bits >>> 23) & 0xff;
        long m = (bits & 0x7fffff) | (field == 0 ? 0 : 0x800000);
        sq[(field << 2) | (i & 3)] += m * m;
      }
      from = done(from, to);
    }
  }

  private long[] squares() {
    if (squares == null) squares = new long[4 * 256];
    return squares;
  }

  private int done(int from, int to) {
    pending += to - from;
    if (pending == FLUSH) flush();
    return to;
  }

  /** Moves the float squares into the exact counters. */
  private void flush() {
    pending = 0;
    if (squares == null) return;
    long nonFinite = 0;
    for (int w = 0; w < 4; w++) nonFinite |= squares[4 * 255 + w];
    if (nonFinite != 0) {
      java.util.Arrays.fill(squares, 0);
      throw new IllegalArgumentException("NaN or infinite value in a sum of squares");
    }
    for (int f = 0; f < 255; f++) {
      long units = 0;
      for (int w = 0; w < 4; w++) {
        units += squares[4 * f + w]; // FLUSH squares under 2^48: under 2^63 together
        squares[4 * f + w] = 0;
      }
      if (units == 0) continue;
      // 2^(2(g - 150)) is the unit of double exponent field 2g + 775 (unit 2^(field - 1075))
      int field = 2 * Math.max(f, 1) + 775;
      addUnits(2 * (field - 1), units);
    }
  }

  private void addUnits(int i, long units) {
    if (counters == null) counters = new long[2 * EXPONENTS];
    long lo = counters[i + 1] + (units & (CARRY - 1));
    counters[i] += units >>> 62;
    if (lo >= CARRY) {
      lo -= CARRY;
      counters[i]++;
    }
    counters[i + 1] = lo;
  }

  public ExactSum merge(ExactSum o) {
    flush();
    o.flush();
    if (o.counters == null) return this;
    if (counters == null) counters = new long[2 * EXPONENTS];
    for (int i = 0; i < counters.length; i += 2) {
      long lo = counters[i + 1] + o.counters[i + 1];
      counters[i] += o.counters[i];
      if (lo >= CARRY) {
        lo -= CARRY;
        counters[i]++;
      }
      counters[i + 1] = lo;
    }
    return this;
  }

  /** The exact total. */
  public BigDecimal value() {
    flush();
    BigDecimal total = BigDecimal.ZERO;
    if (counters == null) return total;
    for (int i = 0; i < counters.length; i += 2) {
      if (counters[i] == 0 && counters[i + 1] == 0) continue;
      BigInteger units = BigInteger.valueOf(counters[i]).shiftLeft(62).add(BigInteger.valueOf(counters[i + 1]));
      int exp = i / 2 + 1 - 1075; // unit of biased exponent field f is 2^(f - 1075)
      BigDecimal v = exp >= 0 ? new BigDecimal(units.shiftLeft(exp))
          : new BigDecimal(units).multiply(BigDecimal.ONE.divide(new BigDecimal(BigInteger.TWO.pow(-exp))));
      total = total.add(v);
    }
    return total;
  }

  /** Only the used exponents travel: a task's sums stay a few hundred bytes, not 32 KiB. */
  private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
    flush();
    out.defaultWriteObject();
    int from = 0, to = 0;
    if (counters != null) {
      from = counters.length;
      for (int i = 0; i < counters.length; i += 2) {
        if (counters[i] != 0 || counters[i + 1] != 0) {
          from = Math.min(from, i);
          to = i + 2;
        }
      }
      if (to == 0) from = 0;
    }
    out.writeInt(from);
    out.writeInt(to);
    for (int i = from; i < to; i++) out.writeLong(counters[i]);
  }

  private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
    in.defaultReadObject();
    int from = in.readInt(), to = in.readInt();
    if (to > from) {
      counters = new long[2 * EXPONENTS];
      for (int i = from; i < to; i++) counters[i] = in.readLong();
    }
  }

  public boolean isZero() {
    return value().signum() == 0;
  }

  /** 10 log10(signal / noise) from two exact sums, rounded once; infinite when noise is 0. */
  public static double decibels(ExactSum signal, ExactSum noise) {
    BigDecimal n = noise.value();
    if (n.signum() == 0) return Double.POSITIVE_INFINITY;
    BigDecimal ratio = signal.value().divide(n, MathContext.DECIMAL128);
    return 10 * Math.log10(ratio.doubleValue());
  }
}

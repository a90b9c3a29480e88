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
 */
public final class ExactSum implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int EXPONENTS = 2047;
  private static final long CARRY = 1L << 62;
  private static final long SIGNIFICAND = (1L << 52) - 1;

  /** Per biased exponent field: [hi, lo], value (hi * 2^62 + lo) units of that exponent; lazily allocated. */
  private transient long[] counters;

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

  public ExactSum merge(ExactSum o) {
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

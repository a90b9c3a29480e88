package io.qspark.dpu;

import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;

/**
 * The simulator's fast paths for the integer ops that dominate its time: one flat pass per
 * layer in int arithmetic, without a per-element rounding switch or long arithmetic, so C2 can
 * unroll and vectorize them. Each computes exactly what the reference kernel of
 * {@link IntegerOps} computes (FastIntegerOpsTest compares them on random and boundary inputs);
 * roundings other than the DPU's half-up go through the reference per element.
 */
final class FastIntegerOps {
  private FastIntegerOps() {}

  /**
   * Requantizes conv/fc accumulators that already hold the aligned bias, in the finest unit
   * (exponent acc_fp - min(0, shift_bias)), as exact integers below 2^24 in float: the
   * activation, the shift by shift_cut (grown by -shift_bias when the bias was finer) with
   * rounding, then saturation. Equals {@link IntegerOps.Requant#apply} on the same layer.
   */
  static final class Requantizer {
    private final int shift, kind, lo, hi;
    private final boolean halfUp;
    private final int loOut, hiOut;
    /** The reference, on the already aligned accumulator (shift_bias 0), for other roundings. */
    private final IntegerOps.Requant reference;

    /** As {@link IntegerOps.Requant#Requant}: out is the output's quantizer (bits, fix_point, rounding). */
    Requantizer(int shiftBias, int shiftCut, int kind, double actMin, double actMax, int accFixPoint, FixPoint out) {
      final int bits = out.bits();
      final Rounding rounding = out.rounding();
      int finest = accFixPoint - Math.min(0, shiftBias);
      // the reference below refuses a shift out of range (a negative one included) before this one is used
      this.shift = shiftCut - Math.min(0, shiftBias);
      this.kind = kind;
      this.lo = -(1 << (bits - 1));
      this.hi = (1 << (bits - 1)) - 1;
      // |acc| < 2^24, so the int path cannot overflow for shifts up to 23 (31 with LeakyReLU's 8)
      this.halfUp = rounding == Rounding.HALF_UP && shift <= 23;
      this.reference = new IntegerOps.Requant(0, shift, kind, actMin, actMax, finest, out);
      this.loOut = reference.clippedLow();
      this.hiOut = reference.clippedHigh();
    }

    /** acc[from, to) to out[outFrom, ...). */
    void apply(float[] acc, int from, int to, int[] out, int outFrom) {
      if (!halfUp) {
        for (int i = from, j = outFrom; i < to; i++, j++) out[j] = reference.apply((long) acc[i], 0);
        return;
      }
      // branch-free (min/max only), which C2 unrolls and vectorizes; a select per element was
      // three times slower
      int s = shift, half = s > 0 ? 1 << (s - 1) : 0, lo = this.lo, hi = this.hi;
      switch (kind) {
        case IntegerOps.Requant.NONE:
          for (int i = from, j = outFrom; i < to; i++, j++) {
            out[j] = Math.min(hi, Math.max(lo, ((int) acc[i] + half) >> s));
          }
          break;
        case IntegerOps.Requant.RELU:
          for (int i = from, j = outFrom; i < to; i++, j++) {
            out[j] = Math.min(hi, (Math.max(0, (int) acc[i]) + half) >> s);
          }
          break;
        case IntegerOps.Requant.CLIP: {
          // rounding is monotone: an accumulator above the upper bound rounds to at least what
          // the bound rounds to, one below it to at most that, so the clip is a min/max on the
          // rounded value with the rounded bounds
          int lq = Math.max(lo, loOut), hq = Math.min(hi, hiOut);
          for (int i = from, j = outFrom; i < to; i++, j++) {
            out[j] = Math.min(hq, Math.max(lq, ((int) acc[i] + half) >> s));
          }
          break;
        }
        case IntegerOps.Requant.LEAKY: {
          // negative: a * 26 / 2^(s + 8); otherwise (a << 8) / 2^(s + 8), which rounds as a / 2^s.
          // The first is the larger for a < 0 and the smaller for a >= 0: their max is the answer
          int ls = s + IntegerOps.LEAKY_SHIFT, lhalf = 1 << (ls - 1);
          for (int i = from, j = outFrom; i < to; i++, j++) {
            int a = (int) acc[i];
            int q = Math.max((a * IntegerOps.LEAKY_NUMERATOR + lhalf) >> ls, (a + half) >> s);
            out[j] = Math.min(hi, Math.max(lo, q));
          }
          break;
        }
        default:
          throw new AssertionError(kind);
      }
    }
  }

  /** {@link IntegerOps#add} for two inputs: shifts below 16 and 8-bit inputs keep the sum in an int. */
  static void add2(int[] a, int[] b, int shiftA, int shiftB, int outputShift, int bits, Rounding r, int[] out) {
    if (r != Rounding.HALF_UP || shiftA < 0 || shiftA > 15 || shiftB < 0 || shiftB > 15 || outputShift < -15 || outputShift > 23) {
      // the reference refuses what is outside its range
      IntegerOps.add(new int[][] {a, b}, new int[] {shiftA, shiftB}, outputShift, bits, r, out);
      return;
    }
    int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
    if (outputShift <= 0) {
      int l = -outputShift;
      for (int i = 0; i < out.length; i++) {
        long v = (long) ((a[i] << shiftA) + (b[i] << shiftB)) << l;
        out[i] = (int) Math.min(hi, Math.max(lo, v));
      }
      return;
    }
    int s = outputShift, half = 1 << (s - 1);
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.min(hi, Math.max(lo, ((a[i] << shiftA) + (b[i] << shiftB) + half) >> s));
    }
  }
}

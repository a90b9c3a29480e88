package io.qspark.kernels.quant;

import io.qspark.kernels.simd.VectorWidth;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BinKeys#computeScalar} a vector of lanes ({@link VectorWidth}) at a time; lanes are
 * independent and the extremes are exact whatever the order, so results are equal.
 */
final class BinKeysSimd {
  private static final VectorSpecies<Float> F = VectorWidth.FLOATS;
  private static final VectorSpecies<Integer> I = VectorWidth.INTS;
  private static final int L = F.length();

  private BinKeysSimd() {}

  static void compute(float[] x, int from, int to, int[] keys, int[] range) {
    IntVector mn = IntVector.broadcast(I, range[0]);
    IntVector mx = IntVector.broadcast(I, range[1]);
    int i = from;
    for (; i + L <= to; i += L) {
      IntVector b = FloatVector.fromArray(F, x, i).reinterpretAsInts();
      IntVector o = b.lanewise(VectorOperators.XOR, b.lanewise(VectorOperators.ASHR, 31).and(0x7fffffff));
      mn = mn.min(o);
      mx = mx.max(o);
      IntVector k = b.lanewise(VectorOperators.LSHR, 16);
      k.and(0x8000).or(k.and(0x7fff).max(BinKeys.ZERO_KEY)).intoArray(keys, i - from);
    }
    range[0] = mn.reduceLanes(VectorOperators.MIN);
    range[1] = mx.reduceLanes(VectorOperators.MAX);
    int lo = range[0], hi = range[1];
    for (; i < to; i++) {
      int b = Float.floatToRawIntBits(x[i]);
      lo = Math.min(lo, BinKeys.ordered(b));
      hi = Math.max(hi, BinKeys.ordered(b));
      keys[i - from] = BinKeys.key(b);
    }
    range[0] = lo;
    range[1] = hi;
  }
}

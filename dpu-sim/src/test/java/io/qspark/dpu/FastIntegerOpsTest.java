package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The simulator's fast loops against the reference kernels, on random and boundary inputs. */
class FastIntegerOpsTest {
  private static final int[] KINDS = {IntegerOps.Requant.NONE, IntegerOps.Requant.RELU, IntegerOps.Requant.CLIP,
      IntegerOps.Requant.LEAKY};

  @Test
  void requantizerEqualsReferenceAtRoundingClipAndSaturationBoundaries() {
    Random rnd = new Random(11);
    double[][] clips = {{0, 6}, {-1.5, 0.75}, {0, Double.POSITIVE_INFINITY}, {Double.NEGATIVE_INFINITY, 0.3}};
    int cases = 0;
    for (int bits : new int[] {8, 6}) {
      for (Rounding r : new Rounding[] {Rounding.HALF_UP, Rounding.HALF_EVEN}) {
        for (int kind : KINDS) {
          for (int sb = -4; sb <= 4; sb++) {
            for (int cut = 0; cut <= 16; cut += 1 + rnd.nextInt(3)) {
              double[] clip = clips[rnd.nextInt(clips.length)];
              int accFp = 2 + rnd.nextInt(6), outFp = accFp - cut;
              FixPoint out = new FixPoint(bits, outFp, r);
              var ref = new IntegerOps.Requant(sb, cut, kind, clip[0], clip[1], accFp, out);
              var fast = new FastIntegerOps.Requantizer(sb, cut, kind, clip[0], clip[1], accFp, out);
              int s = cut - Math.min(0, sb), finest = accFp - Math.min(0, sb);
              int k = 400;
              long[] products = new long[k];
              long[] bias = new long[k];
              float[] acc = new float[k];
              for (int i = 0; i < k; i++) {
                long target = switch (i % 4) {
                  // a rounding tie and its neighbours
                  case 0 -> ((long) (rnd.nextInt(512) - 256) << s) + (s > 0 ? 1L << (s - 1) : 0) + rnd.nextInt(3) - 1;
                  // around a clip bound
                  case 1 -> Double.isInfinite(clip[1]) ? rnd.nextInt(1 << 20) : Math.round(Math.scalb(clip[1], finest)) + rnd.nextInt(3) - 1;
                  // saturation
                  case 2 -> (rnd.nextBoolean() ? 1 : -1) * (((long) (1 << (bits - 1)) << s) + rnd.nextInt(5) - 2);
                  default -> rnd.nextInt(1 << 24) - (1 << 23);
                };
                target = Math.max(-(1L << 24) + 1, Math.min((1L << 24) - 1, target));
                // split the finest-unit accumulator into products and an aligned bias
                long b = rnd.nextInt(256) - 128;
                long p;
                if (sb >= 0) {
                  p = target - (b << sb);
                } else {
                  p = Math.floorDiv(target - b, 1L << -sb);
                  b = target - (p << -sb);
                }
                products[i] = p;
                bias[i] = b;
                acc[i] = target;
              }
              int[] got = new int[k];
              fast.apply(acc, 0, k, got, 0);
              for (int i = 0; i < k; i++) {
                assertEquals(ref.apply(products[i], bias[i]), got[i], "bits " + bits + " " + r + " kind " + kind + " sb " + sb
                    + " cut " + cut + " acc " + acc[i]);
              }
              cases++;
            }
          }
        }
      }
    }
    assertEquals(true, cases > 300);
  }

  @Test
  void twoInputAddEqualsReference() {
    Random rnd = new Random(5);
    for (int trial = 0; trial < 200; trial++) {
      int n = 64, bits = trial % 2 == 0 ? 8 : 6;
      int[] a = new int[n], b = new int[n];
      for (int i = 0; i < n; i++) {
        a[i] = i % 5 == 0 ? 127 : i % 7 == 0 ? -128 : rnd.nextInt(256) - 128;
        b[i] = i % 3 == 0 ? -128 : rnd.nextInt(256) - 128;
      }
      int sa = rnd.nextInt(16), sbb = rnd.nextBoolean() ? 0 : rnd.nextInt(16), out = rnd.nextInt(31) - 15;
      Rounding r = trial % 3 == 0 ? Rounding.HALF_EVEN : Rounding.HALF_UP;
      int[] want = new int[n], got = new int[n];
      IntegerOps.add(new int[][] {a, b}, new int[] {sa, sbb}, out, bits, r, want);
      FastIntegerOps.add2(a, b, sa, sbb, out, bits, r, got);
      assertArrayEquals(want, got, "trial " + trial);
    }
  }
}

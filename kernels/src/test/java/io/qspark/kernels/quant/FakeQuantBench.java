package io.qspark.kernels.quant;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link FakeQuant#apply} in ns per value on 65,536 Gaussian floats (L2-resident), first with one
 * quantizer only (8-bit, half up, power-of-two step: the JIT sees one rule), then cycling through
 * all three rounding rules and a float step, as a model's weights, biases and activations make
 * it. Before the loops were split by rule (2026-12-07) the second figure was 2-5x the first:
 * C2 compiled the one method holding every loop past its inlining limits and the vectors fell
 * back to Java code.
 *
 * <p>{@code mvn -o -q -Pbench test -pl kernels -Dtest=FakeQuantBench}
 */
@Tag("bench")
class FakeQuantBench {
  @Test
  void oneRuleAgainstMixed() {
    int n = 1 << 16;
    float[] src = new float[n], dst = new float[n];
    Random r = new Random(1);
    for (int i = 0; i < n; i++) src[i] = (float) r.nextGaussian();
    FixPoint up = new FixPoint(8, 5, Rounding.HALF_UP, true);
    FixPoint[] mixed = {new FixPoint(8, 5, Rounding.HALF_EVEN, true), up, new FixPoint(8, 5, Rounding.HALF_AWAY, true),
        FixPoint.ofStep(8, 0.037f, Rounding.HALF_EVEN, true)};
    double one = time(new FixPoint[] {up}, src, dst);
    double mix = time(mixed, src, dst);
    double oneAgain = time(new FixPoint[] {up}, src, dst);
    System.out.printf(Locale.ROOT, "## FakeQuant.apply%n%n%s%n| quantizers | ns/value |%n|---|---:|%n| one (half up, 2^-5) | %.3f |%n"
        + "| four, cycling (three rules, a float step) | %.3f |%n| one again, after the mix | %.3f |%n",
        io.qspark.kernels.bench.BenchReport.header(), one, mix, oneAgain);
  }

  /** Median of 9 rounds of 400 calls, after 3 untimed rounds. */
  private static double time(FixPoint[] qs, float[] src, float[] dst) {
    double[] t = new double[9];
    for (int round = -3; round < t.length; round++) {
      long t0 = System.nanoTime();
      for (int k = 0; k < 400; k++) FakeQuant.apply(qs[k % qs.length], src, dst, 0, src.length);
      if (round >= 0) t[round] = (System.nanoTime() - t0) / 400.0 / src.length;
    }
    java.util.Arrays.sort(t);
    return t[t.length / 2];
  }
}

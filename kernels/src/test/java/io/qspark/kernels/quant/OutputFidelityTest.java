package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Per-output fidelity against the definitions computed here in BigDecimal (every product of two
 * floats and every square is exact there): SQNR = 10 log10(Σx² / Σ(x−y)²), cosine = Σxy /
 * sqrt(Σx² Σy²), max |x − y|; and the same figures, bit for bit, however the values are split
 * into buffers and in whatever order the buffers are merged.
 */
class OutputFidelityTest {
  @Test
  void figuresFollowTheirDefinitions() {
    Random rnd = new Random(3);
    float[] x = new float[1000], y = new float[1000];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (rnd.nextGaussian() * (i % 7 == 0 ? 1e3 : 1));
      y[i] = x[i] + (float) (rnd.nextGaussian() * 0.05);
    }
    OutputFidelity f = new OutputFidelity();
    f.add("out", x, y);
    OutputFidelity.Figures got = f.figures().get("out");

    BigDecimal xx = BigDecimal.ZERO, yy = BigDecimal.ZERO, xy = BigDecimal.ZERO, ee = BigDecimal.ZERO;
    double max = 0;
    for (int i = 0; i < x.length; i++) {
      BigDecimal a = new BigDecimal(x[i]), b = new BigDecimal(y[i]);
      xx = xx.add(a.multiply(a));
      yy = yy.add(b.multiply(b));
      xy = xy.add(a.multiply(b));
      ee = ee.add(a.subtract(b).multiply(a.subtract(b)));
      max = Math.max(max, Math.abs((double) x[i] - y[i]));
    }
    double sqnr = 10 * Math.log10(xx.divide(ee, MathContext.DECIMAL128).doubleValue());
    double cosine = xy.divide(xx.multiply(yy).sqrt(MathContext.DECIMAL128), MathContext.DECIMAL128).doubleValue();
    // Σ(x−y)² adds each squared difference rounded once to a double where x−y is not a float (ExactSum)
    assertEquals(sqnr, got.sqnrDb(), 1e-9);
    assertEquals(cosine, got.cosine(), 0);
    assertEquals(max, got.maxAbsDiff(), 0);
    assertEquals(1000, got.values());
  }

  @Test
  void mergedBuffersGiveTheSameBitsInAnyOrder() {
    Random rnd = new Random(5);
    float[] x = new float[3000], y = new float[3000];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextGaussian();
      y[i] = Math.round(x[i] * 16) / 16f;
    }
    OutputFidelity whole = new OutputFidelity();
    whole.add("a", x, y);
    whole.add("b", y, x);
    List<int[]> cuts = List.of(new int[] {0, 700}, new int[] {700, 2100}, new int[] {2100, 3000});
    OutputFidelity[] parts = new OutputFidelity[cuts.size()];
    for (int p = 0; p < parts.length; p++) {
      int[] c = cuts.get(p);
      parts[p] = new OutputFidelity();
      parts[p].add("a", java.util.Arrays.copyOfRange(x, c[0], c[1]), java.util.Arrays.copyOfRange(y, c[0], c[1]));
      parts[p].add("b", java.util.Arrays.copyOfRange(y, c[0], c[1]), java.util.Arrays.copyOfRange(x, c[0], c[1]));
    }
    OutputFidelity forward = new OutputFidelity().merge(parts[0]).merge(parts[1]).merge(parts[2]);
    OutputFidelity backward = new OutputFidelity().merge(parts[2]).merge(parts[0]).merge(parts[1]);
    Map<String, OutputFidelity.Figures> w = whole.figures();
    assertEquals(w, forward.figures());
    assertEquals(w, backward.figures());
  }
}

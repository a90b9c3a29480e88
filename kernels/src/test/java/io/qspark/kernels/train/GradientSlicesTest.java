package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Summing a step's parts slice by slice (QAT's reduce-scatter) and putting the slices back
 * together gives the same total as {@link QatGradient#total()} summing whole parts, bit for bit,
 * for any number of slices, with parameters of every size (empty ones and ones a slice boundary
 * cuts) and values of widely different magnitudes, where the order of addition shows.
 */
class GradientSlicesTest {
  private static final int[] SIZES = {5, 0, 17, 1, 64, 3};

  private static QatGradient parts(int m, long seed) {
    Random r = new Random(seed);
    QatGradient g = new QatGradient();
    for (int j = 0; j < m; j++) {
      float[][] grads = new float[SIZES.length][];
      for (int i = 0; i < SIZES.length; i++) {
        grads[i] = new float[SIZES[i]];
        for (int k = 0; k < SIZES[i]; k++) grads[i][k] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(16) - 8));
      }
      g.add(j, new QatGradient.Part(grads, r.nextDouble(), r.nextInt(8), 8, new double[][] {{r.nextDouble()}}, new double[] {r.nextDouble()}));
    }
    return g;
  }

  @Test
  void slicedSumsEqualTheWholePartsSum() {
    QatGradient whole = parts(7, 3);
    QatGradient.Total expected = whole.total();
    for (int slices : new int[] {1, 2, 3, 7, 90}) {
      GradientSlices gs = new GradientSlices(SIZES, slices);
      double[][] sums = new double[slices][];
      QatGradient meta = new QatGradient();
      for (int k = 0; k < slices; k++) {
        sums[k] = new double[(int) (gs.start(k + 1) - gs.start(k))];
        // micro-batch order, as a slice's owner sorts its parts
        for (var e : whole.byIndex().entrySet()) GradientSlices.add(sums[k], gs.slice(e.getValue().gradients(), k));
      }
      whole.byIndex().forEach((j, p) -> meta.add(j, QatGradient.withoutGradients(p)));
      QatGradient.Total got = meta.total(gs.assemble(sums));
      assertEquals(expected.gradients().length, got.gradients().length);
      for (int i = 0; i < SIZES.length; i++) assertArrayEquals(expected.gradients()[i], got.gradients()[i], 0.0, slices + " slices, parameter " + i);
      assertEquals(expected.loss(), got.loss(), 0.0);
      assertEquals(expected.accuracy(), got.accuracy(), 0.0);
      assertArrayEquals(expected.bnStatistics()[0], got.bnStatistics()[0], 0.0);
      assertArrayEquals(expected.thresholdGradients(), got.thresholdGradients(), 0.0);
    }
  }

  @Test
  void slicesCoverTheVectorOnce() {
    GradientSlices gs = new GradientSlices(SIZES, 4);
    assertEquals(90, gs.length());
    // 90 elements in 4 slices: k * 90 / 4 -> 0, 22, 45, 67, 90
    long[] starts = {0, 22, 45, 67, 90};
    for (int k = 0; k <= 4; k++) assertEquals(starts[k], gs.start(k));
    float[][] g = new float[SIZES.length][];
    int v = 0;
    for (int i = 0; i < SIZES.length; i++) {
      g[i] = new float[SIZES[i]];
      for (int k = 0; k < SIZES[i]; k++) g[i][k] = v++;
    }
    // slice 1 is elements 22..44: parameter 2 (elements 5..21) is done, parameter 3 is element 22, parameter 4 starts at 23
    float[] s1 = gs.slice(g, 1);
    assertEquals(23, s1.length);
    for (int i = 0; i < s1.length; i++) assertEquals(22 + i, s1[i], 0f);
  }
}

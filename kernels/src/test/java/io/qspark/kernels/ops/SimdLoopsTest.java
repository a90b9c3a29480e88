package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The SIMD elementwise loops give bit for bit what the scalar loops give, tails and special values included. */
class SimdLoopsTest {
  private static float[] values(int n) {
    Random r = new Random(3);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
    float[] special = {0f, -0f, Float.NaN, Float.intBitsToFloat(0xffc00000), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE};
    for (int i = 0; i < special.length && i < n; i++) x[(i * 7) % n] = special[i];
    return x;
  }

  @Test
  void reluMatchesTheScalarLoop() {
    for (int n : new int[] {1, 7, 8, 9, 37}) {
      float[] x = values(n);
      float[] y = new float[n];
      SimdLoops.relu(x, y, 0, n);
      float[] want = x.clone();
      Activation.of("Relu", new io.qspark.kernels.graph.Attributes(java.util.Map.of())).apply(want, 0, n);
      for (int i = 0; i < n; i++) {
        assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(y[i]), "n=" + n + " element " + i);
      }
    }
  }

  @Test
  void addMatchesTheScalarLoop() {
    for (int n : new int[] {1, 7, 8, 9, 37}) {
      float[] x = values(n);
      float[] z = values(n + 3);
      float[] y = new float[n];
      SimdLoops.add(x, z, y);
      for (int i = 0; i < n; i++) {
        assertEquals(Float.floatToRawIntBits(x[i] + z[i]), Float.floatToRawIntBits(y[i]), "n=" + n + " element " + i);
      }
    }
  }
}

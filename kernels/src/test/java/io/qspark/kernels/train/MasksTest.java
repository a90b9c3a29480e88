package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.simd.VectorApi;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import java.util.Random;
import java.util.function.DoublePredicate;
import org.junit.jupiter.api.Test;

/** The vectorized backward masks against the plain rule, value for value, on random values and every boundary. */
class MasksTest {
  private static final float[] SPECIAL = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
      Float.MIN_VALUE, -Float.MIN_VALUE, 6f, Math.nextUp(6f), Math.nextDown(6f), 1f, -1f};

  @Test
  void theVectorPathRuns() {
    assertTrue(VectorApi.PRESENT, "tests run with jdk.incubator.vector, so the vector masks are what is checked");
  }

  @Test
  void straightThroughEstimator() {
    FixPoint q = new FixPoint(4, 2, Rounding.HALF_EVEN, true);
    float lo = (float) (q.qmin() * q.step()), hi = (float) (q.qmax() * q.step());
    for (int len : new int[] {1, 7, 8, 9, 33, 1000}) {
      float[] x = values(len, new float[] {lo, hi, Math.nextDown(lo), Math.nextUp(hi)});
      float[] g = ones(len), want = ones(len);
      Ste.mask(q, x, g, 0, len);
      apply(x, want, v -> v >= lo && v <= hi);
      assertArrayEquals(want, g);
    }
  }

  @Test
  void activations() {
    for (Activation a : new Activation[] {Activation.of("Relu", io.qspark.kernels.graph.Attributes.empty()), Activation.clip(0f, 6f), Activation.clip(-1f, 1f)}) {
      DoublePredicate keep = a.kind() == Activation.Kind.RELU ? v -> v > 0 : v -> v > a.lo() && v < a.hi();
      for (int len : new int[] {1, 8, 15, 64, 1001}) {
        for (int from : new int[] {0, 3}) {
          float[] x = values(len, new float[0]);
          float[] g1 = ones(len), g2 = ones(len), want = ones(len);
          ActivationGrad.fromInput(a, x, g1, from, len);
          ActivationGrad.fromOutput(a, x, g2, from, len);
          for (int i = from; i < len; i++) if (!keep.test(x[i])) want[i] = 0f;
          assertArrayEquals(want, g1, a + " from input");
          assertArrayEquals(want, g2, a + " from output");
        }
      }
    }
  }

  private static float[] values(int len, float[] extra) {
    Random r = new Random(len);
    float[] x = new float[len];
    for (int i = 0; i < len; i++) {
      int k = r.nextInt(SPECIAL.length + extra.length + 4);
      x[i] = k < SPECIAL.length ? SPECIAL[k] : k < SPECIAL.length + extra.length ? extra[k - SPECIAL.length] : (float) r.nextGaussian() * 4;
    }
    return x;
  }

  private static float[] ones(int len) {
    float[] g = new float[len];
    java.util.Arrays.fill(g, 1.5f);
    return g;
  }

  private static void apply(float[] x, float[] g, DoublePredicate keep) {
    for (int i = 0; i < x.length; i++) if (!keep.test(x[i])) g[i] = 0f;
  }
}

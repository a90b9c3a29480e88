package io.qspark.kernels.testing;

import io.qspark.kernels.tensor.Tensor;
import java.util.Random;

/** Random test inputs: independent N(0, 1) values. */
public final class Gaussian {
  private Gaussian() {}

  public static Tensor tensor(Random rnd, int... shape) {
    float[] v = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
    return Tensor.of(v, shape);
  }
}

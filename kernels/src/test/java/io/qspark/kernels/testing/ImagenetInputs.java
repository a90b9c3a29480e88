package io.qspark.kernels.testing;

import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;

/**
 * Inputs for the [N,3,224,224] imagenet models made from Fashion-MNIST test images: each
 * 28x28 image nearest-upsampled by 8 and copied to three channels. Real pixel statistics
 * (rather than noise) are what those models' BatchNorm statistics were estimated on.
 */
public final class ImagenetInputs {
  public static final int SIZE = 224;
  private static final int SRC = 28;

  private ImagenetInputs() {}

  /** The first n test images, normalised as {@link Shared#testImages} does. */
  public static Tensor testImages(int n) throws IOException {
    Tensor small = Shared.testImages(n);
    float[] s = small.data();
    int count = small.dim(0);
    int plane = SIZE * SIZE;
    float[] x = new float[count * 3 * plane];
    for (int i = 0; i < count; i++) {
      int dst = i * 3 * plane;
      for (int y = 0; y < SIZE; y++) {
        for (int xx = 0; xx < SIZE; xx++) {
          x[dst + y * SIZE + xx] = s[i * SRC * SRC + (y * SRC / SIZE) * SRC + xx * SRC / SIZE];
        }
      }
      System.arraycopy(x, dst, x, dst + plane, plane);
      System.arraycopy(x, dst, x, dst + 2 * plane, plane);
    }
    return Tensor.of(x, count, 3, SIZE, SIZE);
  }
}

package io.qspark.kernels.testing;

import io.qspark.kernels.data.Idx;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared models and the Debian Fashion-MNIST files for tests. */
public final class Shared {
  private Shared() {}

  public static final float MEAN = 72.94f;
  public static final float STD = 90.02f;

  public static Path models() {
    String p = System.getProperty("qspark.shared");
    Path base = p != null ? Path.of(p) : Path.of("../../shared");
    return base.resolve("models");
  }

  public static Path model(String name) {
    return models().resolve(name);
  }

  public static Path fashionMnist(String file) {
    return Path.of("/usr/share/datasets/fashion-mnist").resolve(file);
  }

  /** The first n test images, normalised as the shared models expect, [n, 1, 28, 28]. */
  public static Tensor testImages(int n) throws IOException {
    return images("t10k-images-idx3-ubyte.gz", n);
  }

  public static Tensor images(String file, int n) throws IOException {
    try (InputStream in = Files.newInputStream(fashionMnist(file))) {
      Idx.Array a = Idx.read(in, file, n);
      float[] x = new float[a.data().length];
      for (int i = 0; i < x.length; i++) x[i] = ((a.data()[i] & 0xff) - MEAN) / STD;
      return Tensor.of(x, a.count(), 1, 28, 28);
    }
  }

  public static int[] testLabels(int n) throws IOException {
    return labels("t10k-labels-idx1-ubyte.gz", n);
  }

  public static int[] labels(String file, int n) throws IOException {
    try (InputStream in = Files.newInputStream(fashionMnist(file))) {
      Idx.Array a = Idx.read(in, "labels", n);
      int[] l = new int[a.count()];
      for (int i = 0; i < l.length; i++) l[i] = a.data()[i] & 0xff;
      return l;
    }
  }
}

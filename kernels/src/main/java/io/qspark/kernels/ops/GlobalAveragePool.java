package io.qspark.kernels.ops;

import io.qspark.kernels.tensor.Tensor;

/** Mean over all spatial positions of each (image, channel); output keeps rank, spatial dims 1. */
public final class GlobalAveragePool implements Op {
  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    if (x.rank() < 3) throw new OpException("GlobalAveragePool: input rank " + x.rank() + " < 3");
    int n = x.dim(0), c = x.dim(1);
    int inner = x.size() / Math.max(1, n * c);
    float[] xd = x.data();
    float[] y = new float[n * c];
    for (int i = 0; i < n * c; i++) {
      float s = 0f;
      for (int j = i * inner; j < (i + 1) * inner; j++) s += xd[j];
      y[i] = s / inner;
    }
    int[] shape = x.shape();
    for (int d = 2; d < shape.length; d++) shape[d] = 1;
    return new Tensor[] {Tensor.of(y, shape)};
  }
}

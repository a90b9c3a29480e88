package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;

/**
 * Mean over all spatial positions of each (image, channel); output keeps rank, spatial dims 1.
 * With the {@link DpuAveragePool} attributes (set by the fake-quant model) it is the DPU's
 * sum * multiplier * 2^-shift instead: exact in float, since the sum of quantized inputs has at
 * most bits + log2(area) significant bits and sum * multiplier fits 24 bits for shift <= 16.
 */
public final class GlobalAveragePool implements Op {
  private final DpuAveragePool dpu;

  public GlobalAveragePool() {
    this(Attributes.empty());
  }

  public GlobalAveragePool(Attributes a) {
    this.dpu = a.has(DpuAveragePool.MULTIPLIER)
        ? new DpuAveragePool((int) a.getInt(DpuAveragePool.MULTIPLIER, 1), (int) a.getInt(DpuAveragePool.SHIFT, 0)) : null;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    if (x.rank() < 3) throw new OpException("GlobalAveragePool: input rank " + x.rank() + " < 3");
    int n = x.dim(0), c = x.dim(1);
    int inner = x.size() / Math.max(1, n * c);
    float[] xd = x.data();
    float[] y = Arena.overwritten(n * c);
    for (int i = 0; i < n * c; i++) {
      float s = 0f;
      for (int j = i * inner; j < (i + 1) * inner; j++) s += xd[j];
      y[i] = dpu == null ? s / inner : (float) dpu.apply(s);
    }
    int[] shape = x.shape();
    for (int d = 2; d < shape.length; d++) shape[d] = 1;
    return new Tensor[] {Tensor.of(y, shape)};
  }
}

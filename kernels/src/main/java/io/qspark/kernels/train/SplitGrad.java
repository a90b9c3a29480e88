package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Split;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of Split: the outputs' gradients laid side by side along the axis (Concat's
 * forward), zero for a part no reader took a gradient from. The parts' lengths are the forward
 * op's ({@link Split#sizes}), so an output nobody named still keeps its place. The split
 * sizes get none.
 */
public final class SplitGrad implements OpGrad {
  private final Split split;

  /** @param outputs the number of outputs the node declares */
  public SplitGrad(Attributes a, int outputs) {
    this.split = new Split(a, outputs);
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    return backward(in, new Tensor[] {out}, new Tensor[] {dy});
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor[] outs, Tensor[] dys) {
    int[] xs = in[0].shape();
    int ax = split.axis(xs);
    long[] sizes = split.sizes(in);
    int outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= xs[d];
    for (int d = ax + 1; d < xs.length; d++) inner *= xs[d];
    float[] dx = new float[in[0].size()];
    int off = 0;
    for (int j = 0; j < sizes.length; j++) {
      int len = (int) sizes[j] * inner;
      if (j < dys.length && dys[j] != null) {
        float[] g = dys[j].data();
        for (int o = 0; o < outer; o++) System.arraycopy(g, o * len, dx, o * xs[ax] * inner + off, len);
      }
      off += len;
    }
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(dx, xs);
    return r;
  }
}

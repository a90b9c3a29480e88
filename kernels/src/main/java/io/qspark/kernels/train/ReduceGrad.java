package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Reduce;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of ReduceMean, ReduceSum, ReduceMax and ReduceMin over any axes (the forward op's
 * own {@link Reduce.Plan}): every input element gets its output's gradient, divided by the
 * count for the mean; for max and min only the first element (in index order) equal to the
 * result gets it, as MaxPool routes to the first maximum. The axes input gets none.
 */
public final class ReduceGrad implements OpGrad {
  private final Reduce reduce;

  public ReduceGrad(String opType, Attributes a) {
    this.reduce = new Reduce(opType, a);
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor[] r = new Tensor[in.length];
    Reduce.Plan p = reduce.plan(in);
    float[] dy = dyT.data();
    if (p == null) {
      r[0] = Tensor.of(dy.clone(), in[0].shape());
      return r;
    }
    int[] dst = p.dst();
    float[] dx = new float[dst.length];
    switch (reduce.kind()) {
      case SUM:
        for (int i = 0; i < dst.length; i++) dx[i] = dy[dst[i]];
        break;
      case MEAN: {
        float count = p.count();
        for (int i = 0; i < dst.length; i++) dx[i] = dy[dst[i]] / count;
        break;
      }
      default: { // MAX, MIN
        float[] x = in[0].data(), y = out.data();
        boolean[] taken = new boolean[p.outSize()];
        for (int i = 0; i < dst.length; i++) {
          int o = dst[i];
          if (!taken[o] && x[i] == y[o]) {
            dx[i] = dy[o];
            taken[o] = true;
          }
        }
      }
    }
    r[0] = Tensor.of(dx, in[0].shape());
    return r;
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.tensor.Tensor;

/** Backward of Add, Sub, Mul and Div with numpy broadcasting (residual adds, scalings). */
public final class ElementwiseGrad implements OpGrad {
  private final String op;

  public ElementwiseGrad(String op) {
    if (!op.equals("Add") && !op.equals("Sub") && !op.equals("Mul") && !op.equals("Div")) throw new OpException("no gradient for " + op);
    this.op = op;
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    int[] ys = out.shape();
    float[] dy = dyT.data();
    float[] ga = dy, gb = dy;
    if (op.equals("Sub")) {
      gb = dy.clone();
      for (int i = 0; i < gb.length; i++) gb[i] = -gb[i];
    } else if (op.equals("Mul")) {
      float[] a = Broadcasts.expand(in[0].data(), in[0].shape(), ys);
      float[] b = Broadcasts.expand(in[1].data(), in[1].shape(), ys);
      ga = new float[dy.length];
      gb = new float[dy.length];
      for (int i = 0; i < dy.length; i++) {
        ga[i] = dy[i] * b[i];
        gb[i] = dy[i] * a[i];
      }
    } else if (op.equals("Div")) {
      // y = a / b: da = dy / b, db = -dy a / b^2 (from the inputs: the output may be fake-quantized)
      float[] a = Broadcasts.expand(in[0].data(), in[0].shape(), ys);
      float[] b = Broadcasts.expand(in[1].data(), in[1].shape(), ys);
      ga = new float[dy.length];
      gb = new float[dy.length];
      for (int i = 0; i < dy.length; i++) {
        ga[i] = dy[i] / b[i];
        gb[i] = -dy[i] * (a[i] / b[i]) / b[i];
      }
    }
    return new Tensor[] {
        Tensor.of(Broadcasts.reduce(ga, ys, in[0].shape()), in[0].shape()),
        Tensor.of(Broadcasts.reduce(gb, ys, in[1].shape()), in[1].shape())};
  }
}

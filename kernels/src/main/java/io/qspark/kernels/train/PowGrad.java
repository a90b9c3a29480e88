package io.qspark.kernels.train;

import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of Pow, y = a^b with numpy broadcasting (the squares of a decomposed LayerNorm):
 * da = dy·b·a^(b−1), db = dy·a^b·ln a where a > 0 and 0 elsewhere (the real power of a
 * non-positive base has no derivative in its exponent), each in double, summed back over
 * broadcast axes. An int64 exponent gets none.
 */
public final class PowGrad implements OpGrad {
  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    int[] ys = out.shape();
    float[] a = Broadcasts.expand(in[0].data(), in[0].shape(), ys);
    float[] b = Broadcasts.expand(in[1].asFloats(), in[1].shape(), ys);
    float[] dy = dyT.data();
    float[] ga = new float[dy.length], gb = new float[dy.length];
    for (int i = 0; i < dy.length; i++) {
      double x = a[i], e = b[i];
      ga[i] = (float) (dy[i] * (e == 2 ? 2 * x : e * Math.pow(x, e - 1)));
      gb[i] = x > 0 ? (float) (dy[i] * Math.pow(x, e) * Math.log(x)) : 0f;
    }
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(Broadcasts.reduce(ga, ys, in[0].shape()), in[0].shape());
    if (in[1].isFloat()) r[1] = Tensor.of(Broadcasts.reduce(gb, ys, in[1].shape()), in[1].shape());
    return r;
  }
}

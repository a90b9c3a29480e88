package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.BatchNormLoops;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of {@link QatBatchNorm} in two passes per block of channels, on the forward's batch statistics
 * (its outputs 1 and 2). With x^ = (u - mean_B) / sigma_B over the m = N*H*W values of a channel
 * and g = dy masked by the activation's derivative: du = scale / sigma_B * (dy - mean(g) - x^
 * mean(g x^)), dscale = sum(g x^), dB = sum(g), and through the unfold u = z / d, dz = du / d.
 * The first pass recomputes u and the pre-activation exactly as the forward did (the statistics
 * outputs are the forward's own floats, so the same multiplier and offset), masks dy into the
 * result array and sums g and g (u - mean_B); the second turns g into dz = a g + (b z + k), no
 * division and no other activation-sized array. The sums are {@link BatchNormLoops}' fixed-order
 * ones. The mask comes from the recomputed pre-activation, not from the op's output: the tape
 * keeps that output fake-quantized, and a value within half a step of a kink rounds onto it.
 */
public final class QatBatchNormGrad implements OpGrad {
  private final float epsilon;
  private final Activation activation;

  public QatBatchNormGrad(Attributes a) {
    QatBatchNorm op = new QatBatchNorm(a);
    this.epsilon = op.epsilon();
    this.activation = op.activation();
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dy) {
    throw new UnsupportedOperationException(QatBatchNorm.OP_TYPE + " needs its statistics outputs");
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor[] outs, Tensor dyT) {
    Tensor z = in[0];
    int n = z.dim(0), c = z.dim(1);
    int inner = z.size() / Math.max(1, n * c);
    float[] divisor = in.length > 5 && in[5] != null ? in[5].data() : null;
    float[] zd = z.data(), s = in[1].data(), b = in[2].data(), dy = dyT.data();
    float[] mean = outs[1].data(), var = outs[2].data();
    float[] g = new float[zd.length];
    float[] gs = new float[c], gb = new float[c], gd = divisor == null ? null : new float[c];
    float[] mul = new float[c], off = new float[c];
    for (int ci = 0; ci < c; ci++) {
      mul[ci] = QatBatchNorm.mul(s[ci], var[ci], epsilon);
      off[ci] = QatBatchNorm.off(s[ci], b[ci], mean[ci], var[ci], epsilon);
    }
    double m = (double) n * inner;
    float[] a = new float[c], bz = new float[c], k0 = new float[c];
    BatchNormLoops.Forward f = new BatchNormLoops.Forward(divisor, mul, off, activation);
    for (int c0 = 0, c1; c0 < c; c0 = c1) {
      c1 = BatchNormLoops.block(c0, c, inner);
      BatchNormLoops.Planes planes = new BatchNormLoops.Planes(n, c, inner, c0, c1);
      double[][] sums = BatchNormLoops.gradientSums(zd, f, dy, mean, g, planes);
      for (int ci = c0; ci < c1; ci++) {
        double mu = mean[ci], inv = 1.0 / Math.sqrt((double) var[ci] + epsilon);
        double sdy = sums[0][ci], sdyx = sums[1][ci] * inv;
        gs[ci] = (float) sdyx;
        gb[ci] = (float) sdy;
        double d = divisor == null ? 1.0 : divisor[ci];
        // dz = k/d (g - mean(g) - (z/d - mu) inv mean(g x^)) as a g + (bz z + k0)
        double ad = s[ci] * inv / d, mdy = sdy / m, mdyx = sdyx / m;
        a[ci] = (float) ad;
        bz[ci] = (float) (-ad * inv * mdyx / d);
        k0[ci] = (float) (-ad * (mdy - mu * inv * mdyx));
        // d/dd of x^ = (u - mu_B) / sqrt(var_B + eps) at u = z/d is -x^ eps inv^2 / d: BatchNorm is
        // scale-invariant but for eps. The closed form, not -sum(dz u), which cancels to noise.
        if (gd != null) gd[ci] = (float) (-s[ci] * sdyx * epsilon * inv * inv / d);
      }
      BatchNormLoops.gradientOutput(g, zd, a, bz, k0, planes);
    }
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(g, z.shape());
    r[1] = Tensor.of(gs, c);
    r[2] = Tensor.of(gb, c);
    if (gd != null) r[5] = Tensor.of(gd, c);
    return r;
  }
}

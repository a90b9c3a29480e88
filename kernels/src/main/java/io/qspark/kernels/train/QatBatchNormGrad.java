package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.tensor.Tensor;

/**
 * Backward of {@link QatBatchNorm} in one pass per channel, on the forward's batch statistics
 * (its outputs 1 and 2): the activation's mask on the recomputed pre-activation, then with
 * x^ = (u - mean_B) / sigma_B over the m = N*H*W values of a channel,
 * du = scale / sigma_B * (dy - mean(dy) - x^ mean(dy x^)), dscale = sum(dy x^), dB = sum(dy),
 * and through the unfold u = z / d: dz = du / d, dd = -sum(du u) / d.
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
    float[] u = new float[zd.length], g = new float[zd.length], pre = activation == null ? null : new float[zd.length];
    float[] gs = new float[c], gb = new float[c], gd = divisor == null ? null : new float[c];
    double m = (double) n * inner;
    for (int ci = 0; ci < c; ci++) {
      QatBatchNorm.unfold(zd, divisor, ci, n, c, inner, u);
      double mu = mean[ci], inv = 1.0 / Math.sqrt((double) var[ci] + epsilon);
      if (activation != null) {
        float mul = QatBatchNorm.mul(s[ci], var[ci], epsilon), off = QatBatchNorm.off(s[ci], b[ci], mu, var[ci], epsilon);
        for (int ni = 0; ni < n; ni++) {
          int base = (ni * c + ci) * inner;
          for (int i = base; i < base + inner; i++) pre[i] = u[i] * mul + off;
          System.arraycopy(dy, base, g, base, inner);
          ActivationGrad.fromInput(activation, pre, g, base, base + inner);
        }
      } else {
        for (int ni = 0; ni < n; ni++) {
          int base = (ni * c + ci) * inner;
          System.arraycopy(dy, base, g, base, inner);
        }
      }
      double sdy = 0, sdyx = 0;
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) {
          sdy += g[i];
          sdyx += g[i] * ((u[i] - mu) * inv);
        }
      }
      gs[ci] = (float) sdyx;
      gb[ci] = (float) sdy;
      double k = s[ci] * inv, mdy = sdy / m, mdyx = sdyx / m;
      double dd = 0;
      float d = divisor == null ? 1f : divisor[ci];
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) {
          float du = (float) (k * (g[i] - mdy - (u[i] - mu) * inv * mdyx));
          if (divisor == null) {
            g[i] = du;
          } else {
            g[i] = du / d;
            dd -= g[i] * u[i];
          }
        }
      }
      if (gd != null) gd[ci] = (float) dd; // d(z/d)/dd = -u/d: the 1/d is in g already
    }
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(g, z.shape());
    r[1] = Tensor.of(gs, c);
    r[2] = Tensor.of(gb, c);
    if (gd != null) r[5] = Tensor.of(gd, c);
    return r;
  }
}

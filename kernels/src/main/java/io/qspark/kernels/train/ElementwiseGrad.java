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
    int planes = channelOperand(ys, in[0].shape(), in[1].shape());
    if (planes > 0) return perChannel(in, dyT.data(), ys, planes);
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

  /**
   * The size of one channel plane when a is [N, C, H, W] and b holds one value per channel
   * ([C, 1, 1] or [1, C, 1, 1], a BatchNorm-style scale), else 0: such ops on activations get a
   * loop over planes instead of the general broadcast.
   */
  private static int channelOperand(int[] ys, int[] a, int[] b) {
    if (ys.length != 4 || !java.util.Arrays.equals(ys, a)) return 0;
    int c = ys[1];
    boolean ok = b.length == 3 && b[0] == c && b[1] == 1 && b[2] == 1
        || b.length == 4 && b[0] == 1 && b[1] == c && b[2] == 1 && b[3] == 1;
    return ok ? ys[2] * ys[3] : 0;
  }

  private Tensor[] perChannel(Tensor[] in, float[] dy, int[] ys, int plane) {
    int n = ys[0], c = ys[1];
    float[] a = in[0].data(), b = in[1].data();
    float[] ga = new float[dy.length];
    double[] gb = new double[c];
    for (int ni = 0; ni < n; ni++) {
      for (int ci = 0; ci < c; ci++) {
        int base = (ni * c + ci) * plane;
        float bv = b[ci];
        double acc = 0;
        switch (op) {
          case "Add":
            for (int i = base; i < base + plane; i++) {
              ga[i] = dy[i];
              acc += dy[i];
            }
            break;
          case "Sub":
            for (int i = base; i < base + plane; i++) {
              ga[i] = dy[i];
              acc -= dy[i];
            }
            break;
          case "Mul":
            for (int i = base; i < base + plane; i++) {
              ga[i] = dy[i] * bv;
              acc += dy[i] * a[i];
            }
            break;
          default: // Div
            for (int i = base; i < base + plane; i++) {
              ga[i] = dy[i] / bv;
              acc -= dy[i] * (a[i] / bv) / bv;
            }
        }
        gb[ci] += acc;
      }
    }
    float[] g = new float[c];
    for (int ci = 0; ci < c; ci++) g[ci] = (float) gb[ci];
    return new Tensor[] {Tensor.of(ga, in[0].shape()), Tensor.of(g, in[1].shape())};
  }
}

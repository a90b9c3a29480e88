package io.qspark.kernels.train;

/**
 * Adam (Kingma and Ba 2015) with PyTorch's defaults (beta1 0.9, beta2 0.999, eps 1e-8, bias
 * corrected), for one parameter vector. State in double so that a step's result depends only
 * on the gradient, never on accumulated float rounding of the moments.
 */
public final class Adam implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;
  private final double lr;
  private final double[] m;
  private final double[] v;
  private int t;

  public Adam(int size, double lr) {
    this.lr = lr;
    this.m = new double[size];
    this.v = new double[size];
  }

  /** param -= lr * mhat / (sqrt(vhat) + eps). */
  public void step(float[] param, double[] grad) {
    step(param, grad, lr);
  }

  /** The same with this step's learning rate (a schedule's). */
  public void step(float[] param, double[] grad, double lr) {
    t++;
    double c1 = 1 - Math.pow(BETA1, t), c2 = 1 - Math.pow(BETA2, t);
    for (int i = 0; i < param.length; i++) {
      m[i] = BETA1 * m[i] + (1 - BETA1) * grad[i];
      v[i] = BETA2 * v[i] + (1 - BETA2) * grad[i] * grad[i];
      double mh = m[i] / c1, vh = v[i] / c2;
      param[i] = (float) (param[i] - lr * mh / (Math.sqrt(vh) + EPS));
    }
  }

  public double lr() {
    return lr;
  }
}

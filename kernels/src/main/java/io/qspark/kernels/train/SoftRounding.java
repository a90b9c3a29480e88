package io.qspark.kernels.train;

import io.qspark.kernels.quant.FixPoint;

/**
 * AdaRound's rounding of one weight tensor (Nagel et al. 2020, arXiv:2004.10568, eqs. 22-24):
 * weight i, on the grid of step s, becomes s * clip(floor(w_i / s) + h(V_i), qmin, qmax), where
 * h(V) = clip(sigmoid(V) (ζ − γ) + γ, 0, 1) is the rectified sigmoid (ζ = 1.1, γ = −0.1), so
 * each weight moves between its floor and its ceiling as V_i is learnt; the regularizer
 * Σ 1 − |2 h(V_i) − 1|^β, with β annealed from large to small, drives every h to 0 or 1. At
 * the end each weight is rounded hard, up where h ≥ 1/2 (V ≥ 0), down elsewhere.
 *
 * <p>V starts where h(V) is the weight's fractional position on the grid, so the soft weights
 * start at the float weights. Everything is computed in double from the float weights, so the
 * same V give the same weights on every JVM.
 */
final class SoftRounding implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  static final double ZETA = 1.1, GAMMA = -0.1;

  private final double step;
  private final int qmin, qmax;
  /** floor(w / s) of each weight. */
  private final double[] floor;
  /** The rounding variables, stepped by the optimizer. */
  final float[] v;

  /** The weights w on the grid of q (a power-of-two or float step; the grid's range clips). */
  SoftRounding(float[] w, FixPoint q) {
    this.step = q.step();
    this.qmin = q.qmin();
    this.qmax = q.qmax();
    this.floor = new double[w.length];
    this.v = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      double x = w[i] / step;
      floor[i] = Math.floor(x);
      v[i] = (float) initial(x - floor[i]);
    }
  }

  /** The rectified sigmoid. */
  static double h(double v) {
    return Math.min(1, Math.max(0, sigmoid(v) * (ZETA - GAMMA) + GAMMA));
  }

  /** dh/dV: zero where the rectification clips. */
  static double dh(double v) {
    double s = sigmoid(v);
    double u = s * (ZETA - GAMMA) + GAMMA;
    return u > 0 && u < 1 ? (ZETA - GAMMA) * s * (1 - s) : 0;
  }

  /**
   * The V with h(V) = r, for r in [0, 1): the inverse of the unclipped sigmoid,
   * log(s / (1 - s)) with s = (r - γ) / (ζ - γ), written around the middle, c = r - 1/2 and
   * m = (ζ - γ) / 2: log((m + c) / (m - c)), odd in c, so that r = 1/2 gives V = 0 exactly
   * (a tie starts rounding up, as the DPU's half-up).
   */
  static double initial(double r) {
    double c = r - 0.5, m = (ZETA - GAMMA) / 2;
    return Math.log((m + c) / (m - c));
  }

  private static double sigmoid(double v) {
    return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
  }

  /** 1 − |2h − 1|^β of one variable. */
  static double regularizer(double v, double beta) {
    return 1 - Math.pow(Math.abs(2 * h(v) - 1), beta);
  }

  /** d/dV of {@link #regularizer}. */
  static double dRegularizer(double v, double beta) {
    double u = 2 * h(v) - 1;
    if (u == 0) return 0;
    return -beta * Math.pow(Math.abs(u), beta - 1) * Math.signum(u) * 2 * dh(v);
  }

  /** The regularizer summed over the tensor. */
  double regularizer(double beta) {
    double r = 0;
    for (float x : v) r += regularizer(x, beta);
    return r;
  }

  private double level(int i, double offset) {
    return Math.min(qmax, Math.max(qmin, floor[i] + offset));
  }

  /** The soft-rounded weights, what the layer computes with while V is learnt. */
  float[] soft() {
    float[] w = new float[v.length];
    for (int i = 0; i < w.length; i++) w[i] = (float) (step * level(i, h(v[i])));
    return w;
  }

  /** The weights rounded hard: each the floor or the ceiling of w / s on the grid (clipped to its range), times s. */
  float[] hard() {
    float[] w = new float[v.length];
    for (int i = 0; i < w.length; i++) w[i] = (float) (step * level(i, v[i] >= 0 ? 1 : 0));
    return w;
  }

  /**
   * The gradient w.r.t. V of loss(soft weights) + lambda * regularizer(beta), given the loss's
   * gradient w.r.t. the soft weights; lambda 0 leaves the regularizer out (warm-up).
   */
  double[] gradient(double[] dSoft, double lambda, double beta) {
    double[] g = new double[v.length];
    for (int i = 0; i < g.length; i++) {
      double x = floor[i] + h(v[i]);
      double through = x > qmin && x < qmax ? dSoft[i] * step * dh(v[i]) : 0;
      g[i] = through + (lambda == 0 ? 0 : lambda * dRegularizer(v[i], beta));
    }
    return g;
  }

  /** Share of variables whose h is within eps of 0 or 1. */
  double hardShare(double eps) {
    int n = 0;
    for (float x : v) {
      double y = h(x);
      if (y <= eps || y >= 1 - eps) n++;
    }
    return v.length == 0 ? 1 : (double) n / v.length;
  }
}

package io.qspark.kernels.quant;

/**
 * TensorRT's entropy calibration (Migacz 2017) for one power-of-two clip threshold: the
 * reference distribution P is |x| in 2048 linear bins up to the threshold with everything
 * beyond folded into the last bin; Q merges those bins into the quantizer's 2^(b-1) levels and
 * spreads each level's mass over its non-empty bins; the cost is KL(P || Q). Zero bins of Q
 * where P has mass are smoothed with a small epsilon, as ONNX Runtime does.
 */
final class Entropy {
  private static final double EPS = 1e-4;

  private Entropy() {}

  static double divergence(Histogram h, int bits, int fp) {
    int levels = 1 << (bits - 1);
    return divergenceAt(h, levels, Math.scalb((double) levels, -fp));
  }

  /** The same for any clip threshold, quantized to {@code levels} magnitudes below it. */
  static double divergenceAt(Histogram h, int levels, double threshold) {
    int nbins = FixPointSearch.ENTROPY_BINS;
    double width = threshold / nbins;
    double[] p = new double[nbins];
    h.forEachBin((lo, hi, c) -> {
      double a = Math.min(Math.abs(lo), Math.abs(hi));
      double b = Math.max(Math.abs(lo), Math.abs(hi));
      if (b <= a) {
        p[0] += c; // the zero bin
        return;
      }
      if (a >= threshold) {
        p[nbins - 1] += c;
        return;
      }
      // spread the bin's count over the linear bins it overlaps, in proportion
      double span = b - a;
      int first = (int) (a / width);
      int last = Math.min(nbins - 1, (int) (b / width));
      for (int i = first; i <= last; i++) {
        double lo2 = Math.max(a, i * width);
        double hi2 = i == nbins - 1 ? b : Math.min(b, (i + 1) * width);
        if (hi2 > lo2) p[i] += c * (hi2 - lo2) / span;
      }
    });
    int per = nbins / levels;
    double[] q = new double[nbins];
    for (int l = 0; l < levels; l++) {
      double mass = 0;
      int nonzero = 0;
      for (int i = l * per; i < (l + 1) * per; i++) {
        mass += p[i];
        if (p[i] > 0) nonzero++;
      }
      if (nonzero == 0) continue;
      for (int i = l * per; i < (l + 1) * per; i++) if (p[i] > 0) q[i] = mass / nonzero;
    }
    double sp = 0, sq = 0;
    for (int i = 0; i < nbins; i++) {
      sp += p[i];
      sq += q[i];
    }
    if (sp == 0) return 0;
    double kl = 0;
    for (int i = 0; i < nbins; i++) {
      if (p[i] == 0) continue;
      double pi = p[i] / sp;
      double qi = q[i] > 0 ? q[i] / sq : EPS;
      kl += pi * Math.log(pi / qi);
    }
    return kl;
  }
}

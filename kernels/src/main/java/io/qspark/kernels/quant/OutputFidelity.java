package io.qspark.kernels.quant;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How close a model's outputs are to a reference model's (quantized or simulated against float),
 * output by output, for models with any outputs: detectors' heads, segmentation maps,
 * embeddings. Per output the exact sums of x², (x − y)², y² and x·y (a product of two floats is
 * exact in a double; its positive and negative parts go to two {@link ExactSum}s) and the
 * largest |x − y|, so the figures read from a merge of per-partition buffers are the same for
 * any partitioning and any order:
 *
 * <ul>
 *   <li>SQNR = 10 log10(Σx² / Σ(x − y)²) dB, the signal-to-quantization-noise ratio of the whole
 *       output over all images (as PyTorch's and AIMET's per-output comparisons compute it);
 *   <li>cosine similarity Σxy / sqrt(Σx² Σy²);
 *   <li>max |x − y| over every element of every image.
 * </ul>
 */
public final class OutputFidelity implements Serializable {
  private static final long serialVersionUID = 1L;

  /** One output's figures. */
  public record Figures(double sqnrDb, double cosine, double maxAbsDiff, long values) {
    public Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("sqnr_db", Double.isInfinite(sqnrDb) ? null : round(sqnrDb));
      m.put("cosine", cosine);
      m.put("max_abs_diff", (double) maxAbsDiff);
      m.put("values", values);
      return m;
    }

    /** "31.2 dB" or "exact". */
    public String sqnrShown() {
      return Double.isInfinite(sqnrDb) ? "inf (identical)" : String.format(java.util.Locale.ROOT, "%.2f dB", sqnrDb);
    }

    private static double round(double v) {
      return Math.round(v * 1000) / 1000.0;
    }
  }

  private static final class Sums implements Serializable {
    private static final long serialVersionUID = 1L;
    final ExactSum xx = new ExactSum(), ee = new ExactSum(), yy = new ExactSum(), xyPos = new ExactSum(), xyNeg = new ExactSum();
    double maxAbs;
    long values;

    void merge(Sums o) {
      xx.merge(o.xx);
      ee.merge(o.ee);
      yy.merge(o.yy);
      xyPos.merge(o.xyPos);
      xyNeg.merge(o.xyNeg);
      maxAbs = Math.max(maxAbs, o.maxAbs);
      values += o.values;
    }
  }

  private final LinkedHashMap<String, Sums> outputs = new LinkedHashMap<>();

  /**
   * Adds one batch of an output.
   *
   * @param reference the reference model's values (float)
   * @param other the compared model's values, of the same length
   */
  public void add(String output, float[] reference, float[] other) {
    if (reference.length != other.length) {
      throw new IllegalArgumentException("output '" + output + "' has " + reference.length + " values in the reference model but "
          + other.length + " in the compared one");
    }
    Sums s = outputs.computeIfAbsent(output, k -> new Sums());
    s.xx.addSquares(reference);
    s.yy.addSquares(other);
    s.ee.addSquaredErrors(reference, other);
    double max = s.maxAbs;
    for (int i = 0; i < reference.length; i++) {
      double p = (double) reference[i] * other[i]; // exact: 24 + 24 significant bits
      if (p > 0) s.xyPos.add(p);
      else if (p < 0) s.xyNeg.add(-p);
      double d = Math.abs((double) reference[i] - other[i]);
      if (d > max) max = d;
    }
    s.maxAbs = max;
    s.values += reference.length;
  }

  public OutputFidelity merge(OutputFidelity o) {
    o.outputs.forEach((k, v) -> outputs.computeIfAbsent(k, x -> new Sums()).merge(v));
    return this;
  }

  public boolean isEmpty() {
    return outputs.isEmpty();
  }

  /** The figures per output, in the order outputs were first added. */
  public Map<String, Figures> figures() {
    Map<String, Figures> r = new LinkedHashMap<>();
    outputs.forEach((k, s) -> r.put(k, new Figures(ExactSum.decibels(s.xx, s.ee), cosine(s), s.maxAbs, s.values)));
    return r;
  }

  private static double cosine(Sums s) {
    BigDecimal xx = s.xx.value(), yy = s.yy.value();
    if (xx.signum() == 0 || yy.signum() == 0) return xx.signum() == 0 && yy.signum() == 0 ? 1 : 0;
    BigDecimal xy = s.xyPos.value().subtract(s.xyNeg.value());
    BigDecimal norms = xx.multiply(yy).sqrt(MathContext.DECIMAL128);
    return xy.divide(norms, MathContext.DECIMAL128).doubleValue();
  }

  /** JSON of every output's figures, by output name. */
  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    figures().forEach((k, f) -> m.put(k, f.json()));
    return m;
  }
}

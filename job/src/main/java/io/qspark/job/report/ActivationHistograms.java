package io.qspark.job.report;

import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Histogram;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The calibration's merged histograms, coarsened for people: per activation point, {@value #BINS}
 * equal bins over the range the data and the chosen threshold span, with the threshold beside
 * them, so a report can show where quantization clips. A few hundred bytes per tensor in
 * report.json. Each fine bin counts at its midpoint, so the coarse counts are a function of the
 * exactly merged histogram alone: the same for any partitioning.
 */
public final class ActivationHistograms {
  public static final int BINS = 64;

  private ActivationHistograms() {}

  public static List<Object> of(QuantPlan plan, Map<String, Histogram> histograms, QuantParams params) {
    List<Object> r = new ArrayList<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      Histogram h = histograms.get(a.name());
      FixPoint q = params.activations().get(a.name());
      if (h == null || q == null || h.count() == 0) continue;
      r.add(of(a.name(), h, q));
    }
    return r;
  }

  static Map<String, Object> of(String name, Histogram h, FixPoint q) {
    double threshold = q.maxValue();
    double lo = Math.min(h.min(), 0), hi = Math.max(h.max(), threshold);
    if (lo < 0) lo = Math.min(lo, -threshold); // a signed quantizer clips both sides
    if (hi <= lo) hi = lo + 1; // all zeros
    double width = hi - lo;
    final double from = lo;
    long[] counts = new long[BINS];
    h.forEachBin((blo, bhi, c) -> {
      int i = (int) Math.floor(((blo + bhi) / 2 - from) / width * BINS);
      counts[Math.max(0, Math.min(BINS - 1, i))] += c;
    });
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tensor", name);
    m.put("bits", q.bits());
    if (q.powerOfTwo()) m.put("fix_point", q.fixPoint());
    m.put("threshold", threshold);
    m.put("signed", q.signed());
    m.put("min", (double) h.min());
    m.put("max", (double) h.max());
    m.put("lo", lo);
    m.put("hi", hi);
    m.put("counts", counts);
    return m;
  }
}

package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The decision of a calibration: a fix_point for every activation point and every weight and
 * bias, legalised so the DPU's shifts stay in range. Built on the driver from merged
 * statistics; a pure function of them, the graph and the config.
 */
public final class QuantParams implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  /** Vitis keeps shift_cut = in_fp + w_fp - out_fp in [0, 16]. */
  public static final int MAX_SHIFT_CUT = 16;
  /** shift_bias = in_fp + w_fp - bias_fp at most 16. */
  public static final int MAX_SHIFT_BIAS = 16;
  /** Eltwise add: shift_read = max(in_fp) - min(in_fp) at most 15 (vai_q_onnx's adjust_shift_read). */
  public static final int MAX_SHIFT_READ = 15;
  /** Eltwise add: shift_write = min(in_fp) - out_fp within [-15, 15] (adjust_shift_write). */
  public static final int MAX_SHIFT_WRITE = 15;

  /** The lowest shift_bias the DPU's 24-bit bias path allows for a shift_cut (fix_pos_adjust.py). */
  public static int minShiftBias(int shiftCut) {
    return Math.min(0, -(24 - (8 + shiftCut)));
  }

  private final Map<String, FixPoint> activations;
  private final Map<String, FixPoint> params;

  QuantParams(Map<String, FixPoint> activations, Map<String, FixPoint> params) {
    this.activations = Collections.unmodifiableMap(activations);
    this.params = Collections.unmodifiableMap(params);
  }

  /** Chooses every fix_point, then legalises shifts. */
  public static QuantParams decide(Graph g, QuantPlan plan, Map<String, Histogram> stats, QuantConfig cfg) {
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      Histogram h = stats.get(a.name());
      if (h == null) throw new GraphException("no statistics collected for tensor '" + a.name() + "'");
      acts.put(a.name(), activation(g, a, h, cfg));
    }
    return legalized(g, plan, acts, params(g, plan, cfg));
  }

  /** One activation point's fix_point from its histogram. */
  public static FixPoint activation(Graph g, QuantPlan.ActivationPoint a, Histogram h, QuantConfig cfg) {
    // the network input's histogram is a comb (256 pixel levels): KL divergence cannot see
    // clipping there (it chose 1/16 of the range on Fashion-MNIST), so the input takes the
    // squared-error search under the entropy method
    Method m = g.isInput(a.name()) && cfg.method() == Method.ENTROPY ? Method.MSE : cfg.method();
    boolean signed = !(cfg.unsignedActivations() && h.min() >= 0);
    int fp = new FixPointSearch(m, cfg.percentile()).choose(h, cfg.activationBits(), a.rounding(), signed);
    return new FixPoint(cfg.activationBits(), fp, a.rounding(), signed);
  }

  /** Every weight's and bias's fix_point, from their own values. */
  public static Map<String, FixPoint> params(Graph g, QuantPlan plan, QuantConfig cfg) {
    Map<String, FixPoint> ps = new LinkedHashMap<>();
    for (QuantPlan.ParamPoint p : plan.params()) {
      Tensor t = g.initializers().get(p.name());
      int bits = p.role() == QuantPlan.Role.WEIGHT ? cfg.weightBits() : cfg.biasBits();
      // weights by least squared error over their own values; biases never clip (a clipped
      // bias shifts a whole channel)
      int fp = p.role() == QuantPlan.Role.WEIGHT ? bestWeightFixPoint(t.data(), bits, cfg.weightRounding())
          : FixPoint.noOverflow(min(t.data()), max(t.data()), bits);
      ps.put(p.name(), new FixPoint(bits, fp, cfg.weightRounding()));
    }
    return ps;
  }

  /** The decisions with shifts legalised for the DPU. */
  public static QuantParams legalized(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, FixPoint> ps) {
    Map<String, FixPoint> a = new LinkedHashMap<>(acts);
    Map<String, FixPoint> p = new LinkedHashMap<>(ps);
    legalize(g, plan, a, p);
    return new QuantParams(a, p);
  }

  /** Decisions so far, unlegalised (sequential calibration quantizes the prefix with them). */
  public static QuantParams partial(Map<String, FixPoint> acts, Map<String, FixPoint> ps) {
    return new QuantParams(new LinkedHashMap<>(acts), new LinkedHashMap<>(ps));
  }

  static int bestWeightFixPoint(float[] w, int bits, Rounding r) {
    int fp0 = FixPoint.noOverflow(min(w), max(w), bits);
    int best = fp0;
    double bestErr = Double.POSITIVE_INFINITY;
    for (int fp = fp0; fp <= fp0 + FixPointSearch.EXTRA_CANDIDATES; fp++) {
      FixPoint q = new FixPoint(bits, fp, r);
      double err = 0;
      for (float v : w) {
        double e = v - q.fake(v);
        err += e * e;
      }
      if (err < bestErr) {
        best = fp;
        bestErr = err;
      }
    }
    return best;
  }

  /**
   * Lowers fix_points until every conv/gemm has 0 <= shift_cut <= 16 and a bias shift in range.
   * Fix_points only decrease, so this ends; a shared (Concat) point takes the lowest.
   */
  private static void legalize(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, FixPoint> ps) {
    boolean changed = true;
    while (changed) {
      changed = false;
      for (Node n : g.nodes()) {
        FixPoint w = ps.get(n.input(1));
        String inPt = plan.pointOf(n.input(0));
        String outPt = plan.pointOf(n.outputs().get(0));
        if (w == null || inPt == null || outPt == null) continue;
        int in = acts.get(inPt).fixPoint();
        int out = acts.get(outPt).fixPoint();
        int cut = in + w.fixPoint() - out;
        if (cut < 0) {
          acts.put(outPt, with(acts.get(outPt), in + w.fixPoint()));
          changed = true;
        } else if (cut > MAX_SHIFT_CUT) {
          ps.put(n.input(1), with(w, out + MAX_SHIFT_CUT - in));
          changed = true;
        }
      }
      for (Node n : g.nodes()) if (n.opType().equals("Add")) changed |= legalizeEltwise(n, plan, acts);
    }
    for (Node n : g.nodes()) {
      FixPoint w = ps.get(n.input(1));
      FixPoint b = n.hasInput(2) ? ps.get(n.input(2)) : null;
      String inPt = plan.pointOf(n.input(0));
      String outPt = plan.pointOf(n.outputs().get(0));
      if (w == null || b == null || inPt == null || outPt == null) continue;
      int prod = acts.get(inPt).fixPoint() + w.fixPoint();
      int cut = prod - acts.get(outPt).fixPoint();
      // the bias may sit at most 16 bits below the product and, with a 24-bit accumulator,
      // no more above it than the accumulator has room for
      int minShift = minShiftBias(cut);
      int fp = Math.max(prod - MAX_SHIFT_BIAS, Math.min(prod - minShift, b.fixPoint()));
      if (fp != b.fixPoint()) ps.put(n.input(2), with(b, fp));
    }
  }

  /**
   * An eltwise add's inputs are aligned by shifts the DPU bounds: the finest input may sit at
   * most 15 bits below the coarsest (lowered to that), and the output at most 15 bits above the
   * coarsest input (lowered). Only lowers, so the enclosing loop ends.
   */
  private static boolean legalizeEltwise(Node n, QuantPlan plan, Map<String, FixPoint> acts) {
    String outPt = plan.pointOf(n.outputs().get(0));
    if (outPt == null) return false;
    int lo = Integer.MAX_VALUE;
    for (String in : n.inputs()) {
      String p = plan.pointOf(in);
      if (p == null) return false;
      lo = Math.min(lo, acts.get(p).fixPoint());
    }
    boolean changed = false;
    for (String in : n.inputs()) {
      String p = plan.pointOf(in);
      if (acts.get(p).fixPoint() > lo + MAX_SHIFT_READ) {
        acts.put(p, with(acts.get(p), lo + MAX_SHIFT_READ));
        changed = true;
      }
    }
    if (acts.get(outPt).fixPoint() > lo + MAX_SHIFT_WRITE) {
      acts.put(outPt, with(acts.get(outPt), lo + MAX_SHIFT_WRITE));
      changed = true;
    }
    return changed;
  }

  private static FixPoint with(FixPoint f, int fp) {
    return new FixPoint(f.bits(), fp, f.rounding(), f.signed());
  }

  static float min(float[] x) {
    float m = Float.POSITIVE_INFINITY;
    for (float v : x) m = Math.min(m, v);
    return x.length == 0 ? 0 : m;
  }

  static float max(float[] x) {
    float m = Float.NEGATIVE_INFINITY;
    for (float v : x) m = Math.max(m, v);
    return x.length == 0 ? 0 : m;
  }

  public Map<String, FixPoint> activations() {
    return activations;
  }

  public Map<String, FixPoint> params() {
    return params;
  }

  public FixPoint activation(String point) {
    return activations.get(point);
  }
}

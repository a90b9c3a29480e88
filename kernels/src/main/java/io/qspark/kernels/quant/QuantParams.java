package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The decision of a calibration: a quantizer for every activation point and every weight and
 * bias (per channel when the config asks), for a DPU fix_points legalised so its shifts stay in
 * range. Built on the driver from merged
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
  private final Map<String, ParamQuant> quantizers;
  /** The same as one fix_point each, for DPU-only code; null when some parameter is per-channel. */
  private final Map<String, FixPoint> perTensor;

  QuantParams(Map<String, FixPoint> activations, Map<String, ParamQuant> quantizers) {
    this.activations = Collections.unmodifiableMap(activations);
    this.quantizers = Collections.unmodifiableMap(quantizers);
    Map<String, FixPoint> one = new LinkedHashMap<>();
    for (Map.Entry<String, ParamQuant> e : quantizers.entrySet()) {
      if (e.getValue().perChannel()) {
        one = null;
        break;
      }
      one.put(e.getKey(), e.getValue().perTensor());
    }
    this.perTensor = one == null ? null : Collections.unmodifiableMap(one);
  }

  private static Map<String, ParamQuant> wrap(Map<String, FixPoint> ps) {
    Map<String, ParamQuant> r = new LinkedHashMap<>();
    ps.forEach((k, q) -> r.put(k, ParamQuant.of(q)));
    return r;
  }

  /** Chooses every fix_point, then legalises shifts. */
  public static QuantParams decide(Graph g, QuantPlan plan, Map<String, Histogram> stats, QuantConfig cfg) {
    return decide(g, plan, stats, Map.of(), cfg);
  }

  /**
   * The same with some activation points' quantizers already chosen ({@code chosen}, by point:
   * {@link RangeGroups#choices}); the others from their histograms. Legalized as one.
   */
  public static QuantParams decide(Graph g, QuantPlan plan, Map<String, Histogram> stats, Map<String, FixPoint> chosen,
      QuantConfig cfg) {
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      Histogram h = stats.get(a.name());
      if (h == null) throw new GraphException("no statistics collected for tensor '" + a.name() + "'");
      FixPoint c = chosen.get(a.name());
      acts.put(a.name(), c != null ? c : activation(g, a, h, cfg));
    }
    return legalized(g, plan, acts, paramQuantizers(g, plan, cfg), cfg);
  }

  /** One activation point's fix_point from its histogram, by the point's method ({@link QuantPlan.ActivationPoint#method}). */
  public static FixPoint activation(Graph g, QuantPlan.ActivationPoint a, Histogram h, QuantConfig cfg) {
    return activation(a, h, !(cfg.unsignedActivations() && h.min() >= 0), cfg);
  }

  /** The same with the signedness given (a run of {@link RangeGroups} takes it from all images, not its own). */
  public static FixPoint activation(QuantPlan.ActivationPoint a, Histogram h, boolean signed, QuantConfig cfg) {
    return new FixPointSearch(a.method(), cfg.percentile()).quantizer(h, a.bits(), a.rounding(), signed, cfg.scales());
  }

  /**
   * Every weight's quantizers (per channel when the config asks) and, with power-of-two scales,
   * every bias's, from their own values. Float-scale biases follow from their input's and
   * weight's steps, so they are decided with the activations ({@link #legalized}).
   */
  public static Map<String, ParamQuant> paramQuantizers(Graph g, QuantPlan plan, QuantConfig cfg) {
    Map<String, Node> nodes = new java.util.HashMap<>();
    for (Node n : g.nodes()) nodes.put(n.name(), n);
    Map<String, ParamQuant> ps = new LinkedHashMap<>();
    for (QuantPlan.ParamPoint p : plan.params()) {
      Tensor t = g.initializers().get(p.name());
      Rounding r = cfg.weightRounding();
      if (p.role() == QuantPlan.Role.WEIGHT) {
        // weights by least squared error over their own values, each channel on its own
        int axis = cfg.weightGranularity() == Granularity.PER_CHANNEL ? ParamQuant.channelAxis(nodes.get(p.node()), t.rank()) : -1;
        List<FixPoint> qs = new ArrayList<>();
        for (float[] c : ParamQuant.split(t, axis)) {
          qs.add(cfg.scales() == ScaleKind.FLOAT ? bestWeightStep(c, p.bits(), r)
              : new FixPoint(p.bits(), bestWeightFixPoint(c, p.bits(), r), r));
        }
        ps.put(p.name(), new ParamQuant(axis, qs));
      } else if (cfg.scales() == ScaleKind.POWER_OF_TWO) {
        // biases never clip (a clipped bias shifts a whole channel)
        int fp = FixPoint.noOverflow(min(t.data()), max(t.data()), p.bits());
        ps.put(p.name(), ParamQuant.of(new FixPoint(p.bits(), fp, r)));
      }
    }
    return ps;
  }

  /** Every weight's and bias's fix_point, for a DPU config (per-tensor, power of two). */
  public static Map<String, FixPoint> params(Graph g, QuantPlan plan, QuantConfig cfg) {
    if (!cfg.dpuStyle()) throw new IllegalArgumentException("not a DPU config: use paramQuantizers");
    Map<String, FixPoint> r = new LinkedHashMap<>();
    paramQuantizers(g, plan, cfg).forEach((k, q) -> r.put(k, q.perTensor()));
    return r;
  }

  /** DPU decisions (one fix_point per parameter) with shifts legalised. */
  public static QuantParams legalized(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, FixPoint> ps) {
    Map<String, FixPoint> a = new LinkedHashMap<>(acts);
    Map<String, ParamQuant> p = wrap(ps);
    legalize(g, plan, a, p);
    return new QuantParams(a, p);
  }

  /** DPU decisions so far, unlegalised. */
  public static QuantParams partial(Map<String, FixPoint> acts, Map<String, FixPoint> ps) {
    return new QuantParams(new LinkedHashMap<>(acts), wrap(ps));
  }

  /**
   * The final decisions: float-scale biases added, and for a DPU config the shifts legalised.
   * Other targets have no shifts to keep in range.
   */
  public static QuantParams legalized(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, ParamQuant> ps,
      QuantConfig cfg) {
    Map<String, FixPoint> a = new LinkedHashMap<>(acts);
    Map<String, ParamQuant> p = new LinkedHashMap<>(ps);
    if (cfg.dpuStyle()) legalize(g, plan, a, p);
    if (cfg.scales() == ScaleKind.FLOAT) floatBiases(g, plan, a, p, cfg);
    return new QuantParams(a, p);
  }

  /**
   * Decisions so far, unlegalised (sequential calibration quantizes the prefix with them);
   * float-scale biases whose input is decided are added.
   */
  public static QuantParams partial(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, ParamQuant> ps,
      QuantConfig cfg) {
    Map<String, ParamQuant> p = new LinkedHashMap<>(ps);
    if (cfg.scales() == ScaleKind.FLOAT) floatBiases(g, plan, acts, p, cfg);
    return new QuantParams(new LinkedHashMap<>(acts), p);
  }

  /**
   * A float-scale bias is a 32-bit integer with step s_in * s_w (per channel with the weight),
   * as ONNX's QLinearConv and QDQ tools store it: it adds straight into the accumulator.
   * Biases whose input point is not decided yet stay float.
   */
  private static void floatBiases(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, ParamQuant> ps,
      QuantConfig cfg) {
    Map<String, Node> nodes = new java.util.HashMap<>();
    for (Node n : g.nodes()) nodes.put(n.name(), n);
    for (QuantPlan.ParamPoint p : plan.params()) {
      if (p.role() != QuantPlan.Role.BIAS) continue;
      Node n = nodes.get(p.node());
      String inPt = plan.pointOf(n.input(0));
      FixPoint in = inPt == null ? null : acts.get(inPt);
      ParamQuant w = ps.get(n.input(1));
      if (in == null || w == null) continue;
      List<FixPoint> qs = new ArrayList<>();
      for (FixPoint c : w.channels()) {
        float step = Math.max(Float.MIN_NORMAL, in.step() * c.step());
        qs.add(FixPoint.ofStep(FixPoint.MAX_FLOAT_STEP_BITS, step, cfg.weightRounding(), true));
      }
      ps.put(p.name(), new ParamQuant(w.perChannel() ? 0 : -1, qs));
    }
  }

  /** Float step for weights: least squared error over {@link FixPointSearch}'s threshold grid. */
  static FixPoint bestWeightStep(float[] w, int bits, Rounding r) {
    double amax = 0;
    for (float v : w) amax = Math.max(amax, Math.abs(v));
    if (!(amax > 0)) return FixPointSearch.emptyStep(bits, r, true);
    float[] y = new float[w.length];
    return FixPointSearch.bestThreshold(amax, t -> FixPointSearch.step(t, bits, r, true), q -> {
      FakeQuant.apply(q, w, y, 0, w.length);
      double err = 0;
      for (int i = 0; i < w.length; i++) {
        double e = w[i] - y[i];
        err += e * e;
      }
      return err;
    });
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
  private static void legalize(Graph g, QuantPlan plan, Map<String, FixPoint> acts, Map<String, ParamQuant> ps) {
    boolean changed = true;
    while (changed) {
      changed = false;
      for (Node n : g.nodes()) {
        FixPoint w = perTensor(ps, n.input(1));
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
          ps.put(n.input(1), ParamQuant.of(with(w, out + MAX_SHIFT_CUT - in)));
          changed = true;
        }
      }
      // an excluded Add runs on the CPU in float: the DPU's eltwise shifts do not bound it
      for (Node n : g.nodes()) if (n.opType().equals("Add") && plan.excludedBy(n) == null) changed |= legalizeEltwise(n, plan, acts);
    }
    for (Node n : g.nodes()) {
      FixPoint w = perTensor(ps, n.input(1));
      FixPoint b = n.hasInput(2) ? perTensor(ps, n.input(2)) : null;
      String inPt = plan.pointOf(n.input(0));
      String outPt = plan.pointOf(n.outputs().get(0));
      if (w == null || b == null || inPt == null || outPt == null) continue;
      int prod = acts.get(inPt).fixPoint() + w.fixPoint();
      int cut = prod - acts.get(outPt).fixPoint();
      // the bias may sit at most 16 bits below the product and, with a 24-bit accumulator,
      // no more above it than the accumulator has room for
      int minShift = minShiftBias(cut);
      int fp = Math.max(prod - MAX_SHIFT_BIAS, Math.min(prod - minShift, b.fixPoint()));
      if (fp != b.fixPoint()) ps.put(n.input(2), ParamQuant.of(with(b, fp)));
    }
  }

  private static FixPoint perTensor(Map<String, ParamQuant> ps, String name) {
    ParamQuant q = ps.get(name);
    return q == null ? null : q.perTensor();
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

  /** Every weight's and bias's quantizers (per tensor or per channel). */
  public Map<String, ParamQuant> quantizers() {
    return quantizers;
  }

  /** One fix_point per weight and bias, for code that handles DPU calibrations only. */
  public Map<String, FixPoint> params() {
    if (perTensor == null) throw new IllegalStateException("per-channel quantizers have no single fix_point: use quantizers()");
    return perTensor;
  }

  public FixPoint activation(String point) {
    return activations.get(point);
  }

  /**
   * Every decision of {@code ps}, the first one's where two decide the same point: for variants
   * of one calibration, the calibration they were cut from.
   */
  public static QuantParams union(java.util.List<QuantParams> ps) {
    Map<String, FixPoint> a = new LinkedHashMap<>();
    Map<String, ParamQuant> p = new LinkedHashMap<>();
    for (QuantParams q : ps) {
      q.activations.forEach(a::putIfAbsent);
      q.quantizers.forEach(p::putIfAbsent);
    }
    return new QuantParams(a, p);
  }

  /**
   * The same decisions for some points only: the activation points in {@code acts} and the
   * weights and biases in {@code params}; every other point stays float (the fake-quant model
   * passes a point without a quantizer through). Sensitivity analysis scores such variants.
   */
  public QuantParams only(java.util.Set<String> acts, java.util.Set<String> params) {
    Map<String, FixPoint> a = new LinkedHashMap<>();
    activations.forEach((k, q) -> {
      if (acts.contains(k)) a.put(k, q);
    });
    Map<String, ParamQuant> p = new LinkedHashMap<>();
    quantizers.forEach((k, q) -> {
      if (params.contains(k)) p.put(k, q);
    });
    return new QuantParams(a, p);
  }
}

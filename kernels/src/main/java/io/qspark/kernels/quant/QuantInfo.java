package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.io.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * quant_info.json: every quantization decision with the statistics behind it, in a fixed
 * order and format, so that the same model, data and config give the same bytes however the
 * job was partitioned. Nothing run-dependent (time, host, partitions) belongs here; that goes
 * to report.json. Read back by evaluate, deploy and fine-tuning.
 */
public final class QuantInfo {
  public static final String FORMAT = "qspark-quant-info/1";

  private QuantInfo() {}

  public static String write(String modelName, String modelSha256, QuantConfig cfg, QuantPlan plan,
      QuantParams params, ActivationStats stats, Graph g) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("format", FORMAT);
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("name", modelName);
    model.put("sha256", modelSha256);
    root.put("model", model);
    root.put("config", config(cfg));
    root.put("calibration_images", stats.images());
    List<Object> acts = new ArrayList<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      FixPoint q = params.activation(a.name());
      Histogram h = stats.histograms().get(a.name());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", a.name());
      m.put("members", new ArrayList<Object>(a.members()));
      put(m, q);
      m.put("method", a.method().key());
      if (a.rule() != null) m.put("rule", a.rule());
      if (a.methodRule() != null) m.put("method_rule", a.methodRule());
      m.put("min", h.min());
      m.put("max", h.max());
      m.put("count", h.count());
      m.put("abs_p99_99", h.percentileAbs(0.9999));
      double clipped = clippedFraction(h, q);
      m.put("clipped_fraction", clipped);
      acts.add(m);
    }
    root.put("activations", acts);
    List<Object> ps = new ArrayList<>();
    for (QuantPlan.ParamPoint p : plan.params()) {
      ParamQuant q = params.quantizers().get(p.name());
      float[] v = g.initializers().get(p.name()).data();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", p.name());
      m.put("role", p.role().name().toLowerCase());
      m.put("node", p.node());
      if (q == null) continue; // not quantized (a float-scale bias whose input stays float)
      if (q.perChannel()) putChannels(m, q);
      else put(m, q.perTensor());
      if (p.rule() != null) m.put("rule", p.rule());
      m.put("min", QuantParams.min(v));
      m.put("max", QuantParams.max(v));
      ps.add(m);
    }
    root.put("params", ps);
    // nodes kept in float, only when there are some: a file without them reads as none
    if (!plan.excluded().isEmpty()) {
      List<Object> ex = new ArrayList<>();
      plan.excluded().forEach((node, rule) -> {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", node);
        m.put("rule", rule);
        ex.add(m);
      });
      root.put("excluded_nodes", ex);
    }
    return Json.write(root);
  }

  private static void put(Map<String, Object> m, FixPoint q) {
    m.put("bits", q.bits());
    if (q.powerOfTwo()) m.put("fix_point", q.fixPoint());
    else m.put("scale", q.step());
    m.put("rounding", q.rounding().key());
    m.put("signed", q.signed());
    m.put("threshold", q.maxValue());
  }

  /** Per-channel quantizers: the channel axis, then fix_points or scales and thresholds as arrays. */
  private static void putChannels(Map<String, Object> m, ParamQuant q) {
    List<Object> steps = new ArrayList<>();
    List<Object> thresholds = new ArrayList<>();
    for (FixPoint c : q.channels()) {
      steps.add(c.powerOfTwo() ? (Object) c.fixPoint() : (Object) c.step());
      thresholds.add(c.maxValue());
    }
    FixPoint first = q.channel(0);
    m.put("bits", first.bits());
    m.put("axis", q.axis());
    m.put(first.powerOfTwo() ? "fix_point" : "scale", steps);
    m.put("rounding", first.rounding().key());
    m.put("signed", first.signed());
    m.put("threshold", thresholds);
  }

  /** Share of values beyond the representable range (they saturate). */
  static double clippedFraction(Histogram h, FixPoint q) {
    if (h.count() == 0) return 0;
    double hi = (q.qmax() + 0.5) * q.step();
    double lo = (q.qmin() - 0.5) * q.step();
    long[] n = {0};
    h.forEachBin((a, b, c) -> {
      if (a >= hi || b <= lo && b < 0) n[0] += c;
    });
    return (double) n[0] / h.count();
  }

  public static Map<String, Object> config(QuantConfig cfg) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("weight_bits", cfg.weightBits());
    c.put("activation_bits", cfg.activationBits());
    c.put("bias_bits", cfg.biasBits());
    c.put("method", cfg.method().key());
    c.put("percentile", cfg.percentile());
    c.put("activation_rounding", cfg.activationRounding().key());
    c.put("weight_rounding", cfg.weightRounding().key());
    c.put("input_nodes", new ArrayList<Object>(cfg.inputNodes()));
    c.put("output_nodes", new ArrayList<Object>(cfg.outputNodes()));
    c.put("unsigned_activations", cfg.unsignedActivations());
    c.put("weight_granularity", cfg.weightGranularity().key());
    c.put("scales", cfg.scales().key());
    // per-layer rules only when there are some: a file without them reads as none; points
    // name the rule that set them by its index here (LayerRule.label)
    if (!cfg.layers().isEmpty()) {
      List<Object> rules = new ArrayList<>();
      for (LayerRule r : cfg.layers()) rules.add(r.toMap());
      c.put("layers", rules);
    }
    return c;
  }

  /** What a quant_info.json says: the config and every fix_point. */
  public record Parsed(String modelSha256, QuantConfig config, QuantParams params) {}

  @SuppressWarnings("unchecked")
  public static Parsed read(String json) {
    Map<String, Object> root;
    try {
      root = (Map<String, Object>) Json.read(json);
    } catch (ClassCastException e) {
      throw new IllegalArgumentException("quant_info.json is not a JSON object");
    }
    if (!FORMAT.equals(root.get("format"))) {
      throw new IllegalArgumentException("quant_info.json has format " + root.get("format") + ", expected " + FORMAT);
    }
    Map<String, Object> c = (Map<String, Object>) root.get("config");
    QuantConfig cfg = new QuantConfig(
        new QuantConfig.Widths(num(c, "weight_bits"), num(c, "activation_bits"), num(c, "bias_bits")),
        Method.parse((String) c.get("method")), ((Number) c.get("percentile")).doubleValue(),
        Rounding.parse((String) c.get("activation_rounding")), Rounding.parse((String) c.get("weight_rounding")),
        new QuantConfig.Region(strings(c.get("input_nodes")), strings(c.get("output_nodes"))),
        new QuantConfig.Scheme(Boolean.TRUE.equals(c.get("unsigned_activations")),
            // files from before these options are DPU calibrations
            Granularity.parse((String) c.getOrDefault("weight_granularity", Granularity.PER_TENSOR.key())),
            ScaleKind.parse((String) c.getOrDefault("scales", ScaleKind.POWER_OF_TWO.key()))),
        // files of qspark before general layer rules recorded width rules as layer_bits
        layers(c.containsKey("layers") ? c.get("layers") : c.get("layer_bits")));
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    for (Object o : (List<Object>) root.get("activations")) {
      Map<String, Object> m = (Map<String, Object>) o;
      acts.put((String) m.get("name"), fixPoint(m));
    }
    Map<String, ParamQuant> ps = new LinkedHashMap<>();
    for (Object o : (List<Object>) root.get("params")) {
      Map<String, Object> m = (Map<String, Object>) o;
      ps.put((String) m.get("name"), m.containsKey("axis") ? channels(m) : ParamQuant.of(fixPoint(m)));
    }
    String sha = (String) ((Map<String, Object>) root.get("model")).get("sha256");
    return new Parsed(sha, cfg, new QuantParams(acts, ps));
  }

  @SuppressWarnings("unchecked")
  private static List<LayerRule> layers(Object o) {
    List<LayerRule> r = new ArrayList<>();
    if (!(o instanceof List<?> l)) return r;
    for (Object x : l) r.add(LayerRule.of((Map<String, Object>) x));
    return r;
  }

  private static List<String> strings(Object o) {
    List<String> r = new ArrayList<>();
    if (o instanceof List<?> l) for (Object x : l) r.add((String) x);
    return r;
  }

  private static FixPoint fixPoint(Map<String, Object> m) {
    Rounding r = Rounding.parse((String) m.get("rounding"));
    boolean signed = !Boolean.FALSE.equals(m.get("signed"));
    if (m.get("scale") instanceof Number s) return FixPoint.ofStep(num(m, "bits"), s.floatValue(), r, signed);
    return new FixPoint(num(m, "bits"), num(m, "fix_point"), r, signed);
  }

  @SuppressWarnings("unchecked")
  private static ParamQuant channels(Map<String, Object> m) {
    Rounding r = Rounding.parse((String) m.get("rounding"));
    boolean signed = !Boolean.FALSE.equals(m.get("signed"));
    int bits = num(m, "bits");
    boolean pow2 = m.containsKey("fix_point");
    Object values = pow2 ? m.get("fix_point") : m.get("scale");
    if (!(values instanceof List<?> list) || list.isEmpty()) {
      throw new IllegalArgumentException("quant_info.json: per-channel '" + m.get("name") + "' has no fix_point or scale list");
    }
    List<FixPoint> qs = new ArrayList<>();
    for (Object v : list) {
      Number n = (Number) v;
      qs.add(pow2 ? new FixPoint(bits, n.intValue(), r, signed) : FixPoint.ofStep(bits, n.floatValue(), r, signed));
    }
    return new ParamQuant(num(m, "axis"), qs);
  }

  private static int num(Map<String, Object> m, String k) {
    Object v = m.get(k);
    if (!(v instanceof Number n)) throw new IllegalArgumentException("quant_info.json: '" + k + "' missing or not a number");
    return n.intValue();
  }
}

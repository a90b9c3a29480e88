package io.qspark.kernels.caffe;

import com.google.protobuf.TextFormat;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.PrecisionParameter;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Histogram;
import io.qspark.kernels.quant.Method;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * CHaiDNN's quantized deploy prototxt: the Caffe net with a precision_param block on exactly
 * the layer types CHaiDNN's QUANTIZATION.md lists for the mode, filled from qspark's
 * calibration (see docs/chaidnn.md for the field-by-field sources).
 */
public final class ChaiDnn {
  public enum Mode {
    XILINX("Xilinx"), DYNAMIC_FIXED("DynamicFixed");

    public final String key;

    Mode(String key) {
      this.key = key;
    }

    public static Mode parse(String s) {
      for (Mode m : values()) if (m.key.equals(s)) return m;
      throw new IllegalArgumentException("--quant_type must be Xilinx or DynamicFixed, got '" + s + "'");
    }
  }

  /** QUANTIZATION.md, "Whether or not precision_param{} block needs to be specified for a layer-type". */
  static final Set<String> XILINX_TYPES = Set.of("Input", "Data", "Convolution", "Deconvolution", "BatchNorm",
      "Scale", "Pooling", "ReLU", "Concat", "Permute", "Normalize", "Eltwise");
  static final Set<String> DYNAMIC_FIXED_TYPES = Set.of("Convolution", "BatchNorm", "Scale", "Pooling", "Permute", "Eltwise");
  /** CHaiDNN: 16-bit bias at fl_layer_in + fl_params (REFERENCE.md, CHaiDNN section); also its widest. */
  public static final int BIAS_BITS = 16;

  /**
   * @param bits bw_layer_in, bw_params, bw_layer_out (XportDNN's --bitwidths order)
   * @param fl user-fixed fl_layer_in, fl_params, fl_layer_out, or null to take qspark's fix_points
   * @param biasBits the width of biases in the quantized model described (CHaiDNN's own is 16,
   *     the most its bias path holds)
   */
  public record Settings(Mode mode, int[] bits, int[] fl, int biasBits) {
    /** CHaiDNN's 16-bit biases. */
    public Settings(Mode mode, int[] bits, int[] fl) {
      this(mode, bits, fl, BIAS_BITS);
    }

    public Settings {
      if (biasBits < FixPoint.MIN_BITS || biasBits > BIAS_BITS) {
        throw new IllegalArgumentException("CHaiDNN adds biases of at most " + BIAS_BITS + " bits; the bias width must be "
            + FixPoint.MIN_BITS + ".." + BIAS_BITS + ", got " + biasBits);
      }
      StringBuilder bad = new StringBuilder();
      for (int b : bits) if (b != 6 && b != 8) bad.append(bad.length() == 0 ? "" : ",").append(b);
      if (bits.length != 3 || bad.length() > 0) {
        throw new IllegalArgumentException("CHaiDNN computes with 8 or 6 bits only (QUANTIZATION.md); --bitwidths needs"
            + " three of them (input,params,output), got " + java.util.Arrays.toString(bits));
      }
      if (bits[0] != bits[2]) {
        throw new IllegalArgumentException("qspark quantizes every activation at one width: input and output bit widths"
            + " must be equal, got " + bits[0] + " and " + bits[2]);
      }
      if (fl != null && fl.length != 3) throw new IllegalArgumentException("--fl_bitwidths needs three values (input,params,output)");
      bits = bits.clone();
      fl = fl == null ? null : fl.clone();
    }

    /** The qspark quantization these settings describe: CHaiDNN's widths and the bias width. */
    public QuantConfig config(Method method) {
      return QuantConfig.defaults().withWidths(bits[1], bits[2], biasBits).withMethod(method);
    }
  }

  private final CaffeImporter.Imported imp;
  private final Graph inference;
  private final QuantPlan plan;

  /**
   * @param imp the imported Caffe net (its float graph names the values of each layer)
   * @param inference the inference graph qspark quantized (BatchNorm folded, activations fused)
   */
  public ChaiDnn(CaffeImporter.Imported imp, Graph inference, QuantPlan plan) {
    this.imp = imp;
    this.inference = inference;
    this.plan = plan;
  }

  public static boolean carriesPrecision(Mode mode, String type) {
    return (mode == Mode.XILINX ? XILINX_TYPES : DYNAMIC_FIXED_TYPES).contains(type);
  }

  /**
   * The activation point a float-graph value ends up in: its own, or, for a value folded away
   * (a conv's output before its BatchNorm, Scale and ReLU), that of the fused chain's output,
   * which is what CHaiDNN's fused layer writes and what Caffe's in-place blob finally holds.
   */
  public String point(String value) {
    String v = value;
    for (int guard = 0; guard < 64 && v != null; guard++) {
      String p = plan.pointOf(v);
      if (p != null) return p;
      List<Node> readers = imp.graph().consumers(v);
      if (readers.size() != 1 || !Set.of("BatchNormalization", "Relu", "LeakyRelu", "Clip", "Identity").contains(readers.get(0).opType())) {
        return null;
      }
      v = readers.get(0).outputs().get(0);
    }
    return null;
  }

  /** The inference node computing a Caffe layer's weights (a conv keeps its layer's name through folding). */
  public Node paramNode(CaffeImporter.Layer l) {
    for (Node n : inference.nodes()) if (n.name().equals(l.name()) && n.hasInput(1) && inference.initializers().containsKey(n.input(1))) return n;
    return null;
  }

  /** The deploy net with precision_param blocks; stats and params from qspark's calibration. */
  public NetParameter write(Settings s, QuantParams params, Map<String, Histogram> stats, Method method) {
    Map<String, PrecisionParameter> byLayer = new LinkedHashMap<>();
    for (CaffeImporter.Layer l : imp.layers()) {
      if (!carriesPrecision(s.mode(), l.type())) continue;
      byLayer.put(l.name(), precision(l, s, params, stats, method));
    }
    Set<String> passed = passedNames();
    NetParameter.Builder net = imp.net().toBuilder();
    for (int i = 0; i < net.getLayerCount(); i++) {
      if (passed.contains(net.getLayer(i).getName())) continue; // written back as read
      LayerParameter.Builder lb = net.getLayer(i).toBuilder().clearPrecisionParam();
      PrecisionParameter p = byLayer.get(lb.getName());
      if (p != null) lb.setPrecisionParam(p);
      net.setLayer(i, lb);
    }
    return net.build();
  }

  /**
   * One line for each layer of a written net that has no precision_param, naming it and saying
   * why, as XportDNN warns for the layers it gives no thresholds (QUANTIZATION.md: "a warning is
   * generated for non-supported layers").
   */
  public List<String> withoutPrecision(NetParameter written, Mode mode) {
    Set<String> passed = passedNames();
    List<String> r = new java.util.ArrayList<>();
    for (LayerParameter l : written.getLayerList()) {
      if (l.hasPrecisionParam()) continue;
      String why = passed.contains(l.getName())
          ? "passed through unchanged (qspark does not compute it; CHaiDNN runs it in software)"
          : carriesPrecision(mode, l.getType()) ? "qspark has no quantization point for it"
          : "CHaiDNN's " + mode.key + " mode takes none for " + l.getType() + " (it runs in float)";
      r.add("layer '" + l.getName() + "' (" + l.getType() + ") gets no precision_param: " + why);
    }
    return r;
  }

  private Set<String> passedNames() {
    Set<String> r = new java.util.HashSet<>();
    for (LayerParameter l : imp.passedThrough()) r.add(l.getName());
    return r;
  }

  public static String text(NetParameter net) {
    return TextFormat.printer().printToString(net);
  }

  private PrecisionParameter precision(CaffeImporter.Layer l, Settings s, QuantParams params,
      Map<String, Histogram> stats, Method method) {
    boolean input = l.type().equals("Input") || l.type().equals("Data");
    String in = point(input ? l.outputs().get(0) : l.inputs().get(0));
    String out = point(l.outputs().get(0));
    PrecisionParameter.Builder p = PrecisionParameter.newBuilder().setQuantType(s.mode().key)
        .setBwLayerIn(s.bits()[0]).setBwLayerOut(s.bits()[2]);
    Node pn = l.type().equals("Convolution") || l.type().equals("Deconvolution") ? paramNode(l) : null;
    if (pn != null) p.setBwParams(s.bits()[1]);
    if (s.mode() == Mode.XILINX) {
      if (in != null) p.setThLayerIn(threshold(in, params, stats, method));
      if (out != null) p.setThLayerOut(threshold(out, params, stats, method));
      if (pn != null) {
        Tensor w = inference.initializers().get(pn.input(1));
        float[] th = pn.opType().equals("ConvTranspose") ? channelMaxAbs(transposedFilters(w, (int) pn.attributes().getInt("group", 1)))
            : channelMaxAbs(w);
        for (float t : th) p.addThParams(t);
      }
      return p.build();
    }
    int[] fl = s.fl();
    if (in != null || fl != null) p.setFlLayerIn(fl != null ? fl[0] : params.activation(in).fixPoint());
    if (out != null || fl != null) p.setFlLayerOut(fl != null ? fl[2] : params.activation(out).fixPoint());
    if (pn != null) p.setFlParams(fl != null ? fl[1] : params.params().get(pn.input(1)).fixPoint());
    Node bn = imp.graph().producer(l.outputs().get(0));
    boolean affine = bn != null && bn.opType().equals("BatchNormalization");
    int bw = s.bits()[1];
    if (l.type().equals("BatchNorm") && affine) {
      p.setBatchnormMeanBw(bw).setBatchnormMeanFl(fl != null ? fl[1] : fl(tensor(bn, 3), bw));
      p.setBatchnormVarianceBw(bw).setBatchnormVarianceFl(fl != null ? fl[1] : fl(tensor(bn, 4), bw));
    }
    if (l.type().equals("Scale") && affine) {
      float[] gamma = tensor(bn, 1);
      float[] var = tensor(bn, 4);
      float eps = bn.attributes().getFloat("epsilon", 1e-5f);
      float[] byStd = new float[gamma.length];
      for (int i = 0; i < gamma.length; i++) byStd[i] = (float) (gamma[i] / Math.sqrt((double) var[i] + eps));
      p.setScaleGammaBw(bw).setScaleGammaFl(fl != null ? fl[1] : fl(gamma, bw));
      p.setScaleBetaBw(bw).setScaleBetaFl(fl != null ? fl[1] : fl(tensor(bn, 2), bw));
      p.setScaleGammaByStdBw(bw).setScaleGammaByStdFl(fl != null ? fl[1] : fl(byStd, bw));
    }
    return p.build();
  }

  private float[] tensor(Node n, int input) {
    return imp.graph().initializers().get(n.input(input)).data();
  }

  /** Xilinx threshold of a point: the chosen fix_point's largest value, or for maxmin the data's |max|. */
  static float threshold(String point, QuantParams params, Map<String, Histogram> stats, Method method) {
    if (method == Method.MAXMIN) {
      Histogram h = stats.get(point);
      return Math.max(Math.abs(h.min()), Math.abs(h.max()));
    }
    return (float) params.activation(point).maxValue();
  }

  /** The fix_point a point's Xilinx threshold stands for: th = qmax * 2^-fp. */
  public static int fixPointOf(float threshold, int bits) {
    double qmax = (1 << (bits - 1)) - 1;
    return (int) Math.round(Math.log(qmax / threshold) / Math.log(2));
  }

  static int fl(float[] v, int bits) {
    float lo = 0, hi = 0;
    for (float x : v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    return FixPoint.noOverflow(lo, hi, bits);
  }

  /** ConvTranspose filters [ic, oc/g, kh, kw] regrouped output channel first, [oc, ic/g, kh, kw]. */
  static Tensor transposedFilters(Tensor w, int group) {
    int ic = w.dim(0), ocg = w.dim(1), k = w.size() / (ic * ocg), icg = ic / group;
    float[] d = w.data();
    float[] r = new float[d.length];
    for (int i = 0; i < ic; i++) {
      int g = i / icg;
      for (int o = 0; o < ocg; o++) {
        System.arraycopy(d, (i * ocg + o) * k, r, (((g * ocg + o) * icg) + i % icg) * k, k);
      }
    }
    return Tensor.of(r, ocg * group, icg, k);
  }

  /** max |w| of each output channel of filters [oc, ...]. */
  static float[] channelMaxAbs(Tensor w) {
    int oc = w.dim(0);
    int per = w.size() / oc;
    float[] m = new float[oc];
    float[] d = w.data();
    for (int o = 0; o < oc; o++) for (int i = o * per; i < (o + 1) * per; i++) m[o] = Math.max(m[o], Math.abs(d[i]));
    return m;
  }

  /**
   * The quantized model the emitted prototxt describes, in qspark's fake-quant terms: the points
   * and weights of layers that carry a precision_param (CHaiDNN runs the rest, InnerProduct and
   * Softmax among them, in float), and CHaiDNN's bias rule (16 bits, fl_in + fl_params).
   */
  public QuantParams deployed(Mode mode, QuantParams params) {
    return deployed(new Settings(mode, new int[] {8, 8, 8}, null), params);
  }

  /** The same with the settings' bias width (at fl_in + fl_params, as CHaiDNN aligns them). */
  public QuantParams deployed(Settings s, QuantParams params) {
    Mode mode = s.mode();
    Map<String, FixPoint> acts = new LinkedHashMap<>();
    Map<String, FixPoint> ps = new LinkedHashMap<>();
    for (CaffeImporter.Layer l : imp.layers()) {
      if (!carriesPrecision(mode, l.type())) continue;
      boolean input = l.type().equals("Input") || l.type().equals("Data");
      for (String v : input ? l.outputs() : concat(l.inputs(), l.outputs())) {
        String pt = point(v);
        if (pt != null) acts.put(pt, params.activation(pt));
      }
      Node pn = paramNode(l);
      if (pn == null || !(l.type().equals("Convolution") || l.type().equals("Deconvolution"))) continue;
      FixPoint w = params.params().get(pn.input(1));
      ps.put(pn.input(1), w);
      if (pn.hasInput(2)) ps.put(pn.input(2), chaiBias(params.activation(plan.pointOf(pn.input(0))), w, s.biasBits()));
    }
    Map<String, FixPoint> orderedActs = new LinkedHashMap<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) if (acts.containsKey(a.name())) orderedActs.put(a.name(), acts.get(a.name()));
    return QuantParams.partial(orderedActs, ps);
  }

  public static FixPoint chaiBias(FixPoint in, FixPoint w) {
    return chaiBias(in, w, BIAS_BITS);
  }

  /** A bias of the given width at fl_in + fl_params: aligned with the accumulator, as CHaiDNN adds it. */
  public static FixPoint chaiBias(FixPoint in, FixPoint w, int bits) {
    return new FixPoint(bits, in.fixPoint() + w.fixPoint(), w.rounding());
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> r = new java.util.ArrayList<>(a);
    r.addAll(b);
    return r;
  }
}

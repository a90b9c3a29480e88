package io.qspark.dpu;

import com.google.protobuf.ByteString;
import io.qspark.dpu.proto.DeployProto;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.dpu.proto.DeployProto.Value;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.onnx.OnnxExporter;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.quant.AccumulatorBound;
import io.qspark.kernels.ops.DpuAveragePool;
import io.qspark.kernels.quant.DpuGraph;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Granularity;
import io.qspark.kernels.quant.ScaleKind;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantizedModel;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.Partition;
import io.qspark.kernels.target.Partitioner;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Calibration decisions to a deploy model: the inference graph's ops fused as the DPU runs them
 * (conv/fc + bias + activation), weights and biases as integers, every shift computed and
 * checked against the DPU's ranges; nodes a target puts on the CPU, nodes a layer rule keeps in
 * float ({@link io.qspark.kernels.quant.LayerRule#exclude}, given a target), and nodes outside the
 * quantized region, as float CPU layers. Everything that cannot be deployed is listed at once.
 */
public final class DeployCompiler {
  /** The widest integers the DPU computes with. */
  public static final int MAX_BITS = 8;
  /** The widest bias the DPU adds: 8 bits shifted into its accumulator (conf/targets/b4096.yaml). */
  public static final int MAX_BIAS_BITS = 8;
  /** Weights are signed bytes in the deploy model, whatever the target computes. */
  static final int WEIGHT_BYTE_BITS = 8;
  /** Float accumulation is exact while every partial sum fits float's 24-bit significand. */
  public static final long FLOAT_EXACT = AccumulatorBound.FLOAT_EXACT;

  private static final Set<String> RESHAPES = Set.of("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout");


  private final Graph g;
  private final QuantPlan plan;
  private final QuantParams params;
  private final Map<String, int[]> shapes;
  /** Values that are int64 tensors (shapes computed at run time, bool masks). */
  private final Set<String> integerValued = new java.util.HashSet<>();
  private final List<String> problems = new ArrayList<>();
  /** Nodes the target partition puts on the CPU (empty without a target). */
  private final Set<Node> onCpu = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  private final boolean targeted;
  /** The widest weights and activations, and the widest bias, the target (else the DPU) takes. */
  private final int maxBits, maxBiasBits;
  /** How error messages name those limits. */
  private final String limitsOf;
  /** The fake-quant graph: a CPU layer runs its node exactly as fake-quant does. */
  private Graph fakeQuant;
  private final Map<String, Value> values = new LinkedHashMap<>();
  /** The layer rule that set a parameter's or activation point's width, where one did (error messages name it). */
  private final Map<String, String> ruleOf = new java.util.HashMap<>();

  private DeployCompiler(Graph g, QuantPlan plan, QuantParams params, Partition partition) {
    this.g = g;
    this.plan = plan;
    this.params = params;
    ShapeInference.Runs runs = ShapeInference.runs(g);
    this.shapes = ShapeInference.shapes(g, runs);
    runs.one().forEach((k, v) -> {
      if (!v.isFloat()) integerValued.add(k);
    });
    this.targeted = partition != null;
    this.maxBits = partition == null ? MAX_BITS : partition.target().maxBits();
    this.maxBiasBits = partition == null ? MAX_BIAS_BITS : partition.target().biasBits();
    this.limitsOf = partition == null ? "the DPU" : "target " + partition.target().name();
    if (partition != null) for (Partition.Placement p : partition.placements()) if (!p.dpu()) onCpu.add(p.node());
    for (QuantPlan.ParamPoint p : plan.params()) if (p.rule() != null) ruleOf.put(p.name(), p.rule());
    for (QuantPlan.ActivationPoint a : plan.activations()) if (a.rule() != null) ruleOf.put(a.name(), a.rule());
    // a node kept in float runs on the CPU: a target gives it one, the DPU alone has none
    Map<String, List<String>> excludedBy = new LinkedHashMap<>();
    for (Node n : g.nodes()) {
      String rule = plan.excludedBy(n);
      if (rule == null) continue;
      if (partition != null) onCpu.add(n);
      else excludedBy.computeIfAbsent(rule, k -> new ArrayList<>()).add(Partition.nameOf(n));
    }
    excludedBy.forEach((rule, nodes) -> problems.add("layer rule " + plan.describeRule(rule) + " keeps " + nodes.size()
        + (nodes.size() == 1 ? " node" : " nodes") + " in float (" + String.join(", ", nodes.subList(0, Math.min(5, nodes.size())))
        + (nodes.size() > 5 ? ", ..." : "") + "), but without --target every layer runs on the DPU, which has no CPU"
        + " fallback (deploy with --target to run them on the CPU)"));
  }

  /**
   * Where a target runs each node of {@code g}, nodes kept in float by a layer rule on the CPU
   * (the rule is their reason in reports); what {@link #compile} takes.
   */
  public static Partition partition(Graph g, QuantConfig cfg, DpuTarget target) {
    QuantPlan plan = QuantPlan.of(g, cfg);
    Map<String, String> forced = new LinkedHashMap<>();
    for (Node n : g.nodes()) {
      String rule = plan.excludedBy(n);
      if (rule != null) forced.put(Partition.nameOf(n), "CPU: kept in float by layer rule " + plan.describeRule(rule));
    }
    return Partitioner.partition(g, ShapeInference.infer(g), target, forced);
  }

  /**
   * @param g the inference graph (BatchNorm folded, activations fused) that was calibrated
   */
  public static DeployModel compile(Graph g, QuantConfig cfg, QuantParams params, String sourceSha256) {
    return compile(g, cfg, params, sourceSha256, null);
  }

  /**
   * @param partition where a DPU target runs each node of {@code g} (null: everything must
   *     compile to DPU layers); its CPU nodes become CPU layers
   */
  public static DeployModel compile(Graph g, QuantConfig cfg, QuantParams params, String sourceSha256, Partition partition) {
    List<String> target = new ArrayList<>();
    if (cfg.weightGranularity() != Granularity.PER_TENSOR) {
      target.add("weights are quantized " + cfg.weightGranularity().key() + " (--weight-granularity): the DPU has one fix_point per tensor");
    }
    if (cfg.scales() != ScaleKind.POWER_OF_TWO) {
      target.add("scales are " + cfg.scales().key() + " (--scales): the DPU shifts, so it needs power-of-two scales");
    }
    if (cfg.unsignedActivations()) {
      target.add("unsigned activations (--unsigned-activations) are experimental: the DPU computes signed integers only");
    }
    // a non-DPU calibration has no fix_points to compile: refuse before looking at the layers
    if (!cfg.dpuStyle()) throw new DeployException("cannot deploy: " + String.join("; ", target) + "; recalibrate with the defaults");
    QuantPlan plan = QuantPlan.of(g, cfg);
    DeployCompiler c = new DeployCompiler(g, plan, params, partition);
    c.problems.addAll(target);
    return c.run(sourceSha256);
  }

  private DeployModel run(String sha) {
    DeployModel.Builder m = DeployModel.newBuilder().setMagic(DeployFormat.MAGIC).setFormatVersion(DeployFormat.VERSION)
        .setProducer("qspark " + DeployFormat.class.getPackage().getImplementationVersion()).setSourceSha256(sha == null ? "" : sha)
        .setBatchChunk(g.batchChunk());
    for (ValueInfo in : g.inputs()) {
      m.addInputs(in.name());
      values.put(in.name(), floatValue(in.name()));
      String pt = plan.pointOf(in.name());
      if (pt == null) continue;
      String q = in.name() + "/quantized";
      values.put(q, intValue(q, in.name()));
      m.addLayers(Layer.newBuilder().setName(in.name() + "/quantize").setOp(Op.QUANTIZE).addInputs(in.name())
          .setOutput(q).setRounding(rounding(act(in.name()).rounding())));
    }
    Map<String, String> rename = new LinkedHashMap<>();
    for (ValueInfo in : g.inputs()) if (plan.pointOf(in.name()) != null) rename.put(in.name(), in.name() + "/quantized");
    for (Node n : g.nodes()) {
      Layer.Builder l = layer(n, rename);
      if (l == null) continue;
      m.addLayers(l);
    }
    for (String o : g.outputs()) m.addOutputs(rename.getOrDefault(o, o));
    checkActivationWidths(m);
    if (!problems.isEmpty()) {
      throw new DeployException("cannot deploy: " + String.join("; ", problems));
    }
    m.addAllValues(values.values());
    DeployModel sealed = DeployFormat.seal(m.build());
    // what simulate will check when it reads the model, checked where a failure is the compiler's bug
    DeployCheck.check(sealed, "the compiled model");
    return sealed;
  }

  private Layer.Builder layer(Node n, Map<String, String> rename) {
    String out = n.outputs().get(0);
    List<String> ins = new ArrayList<>();
    for (String i : n.inputs()) if (!i.isEmpty() && !g.initializers().containsKey(i)) ins.add(rename.getOrDefault(i, i));
    boolean quantized = plan.pointOf(out) != null && n.inputs().stream()
        .filter(i -> !i.isEmpty() && !g.initializers().containsKey(i)).allMatch(i -> plan.pointOf(i) != null);
    String t = n.opType();
    // outside the quantized region the fake-quant model computes in float too
    if (!quantized || onCpu.contains(n)) return cpu(n, ins);
    if (plan.excludedBy(n) != null) return null; // kept in float without a CPU to run it: a problem already
    if (n.outputs().stream().filter(o -> !o.isEmpty()).count() > 1) {
      problems.add("node " + n.describe() + ": a DPU layer has one output");
      return null;
    }
    values.put(out, intValue(out, out));
    Layer.Builder l = Layer.newBuilder().setName(n.name()).addAllInputs(ins).setOutput(out)
        .setRounding(rounding(act(out).rounding()));
    switch (t) {
      case "Conv":
        return conv(n, l);
      case "Gemm":
        return fc(n, l);
      case "Add":
        return add(n, l);
      case "Mul":
        return mul(n, l);
      case "Relu":
        return l.setOp(Op.RELU);
      case "MaxPool":
      case "AveragePool":
      case "GlobalAveragePool":
        return pool(n, l);
      case "Concat": {
        int rank = shapes.get(out).length;
        long axis = n.attributes().getInt("axis", 1);
        return l.setOp(Op.CONCAT).setAxis((int) (axis < 0 ? axis + rank : axis));
      }
      default:
        if (RESHAPES.contains(t)) return l.setOp(Op.RESHAPE);
        problems.add("node " + n.describe() + ": no DPU op for " + t + (targeted ? "" : " (deploy with --target to run it on the CPU)"));
        return null;
    }
  }

  /**
   * A node run on the CPU in float: its fake-quant form (quantized weights, the DPU's pooling
   * divisor and LeakyReLU slope, exact sums where fake-quant has them) as a one-node ONNX model;
   * integer inputs are dequantized, and the output is quantized at its fix_point when it has one.
   */
  private Layer.Builder cpu(Node n, List<String> ins) {
    List<String> outs = n.outputs().stream().filter(o -> !o.isEmpty()).toList();
    for (String o : outs) {
      int[] s = shapes.get(o);
      if (s == null || !floatValued(o)) {
        problems.add("node " + n.describe() + ": its output '" + o + "' is not a float tensor (shape arithmetic left at"
            + " run time); a deploy model's layers exchange float or integer tensors");
        return null;
      }
    }
    if (fakeQuant == null) fakeQuant = new QuantizedModel(g, plan, params).graph();
    String out = outs.get(0);
    Node fq = fakeQuant.producer(out);
    List<ValueInfo> inputs = new ArrayList<>();
    Map<String, Tensor> inits = new LinkedHashMap<>();
    for (String i : fq.inputs()) {
      if (i.isEmpty()) continue;
      Tensor c = fakeQuant.initializers().get(i);
      if (c != null) {
        inits.put(i, c);
      } else if (inputs.stream().noneMatch(v -> v.name().equals(i))) {
        inputs.add(new ValueInfo(i, shapes.get(i)));
      }
    }
    Graph sub = new Graph(n.name().isEmpty() ? out : n.name(), inputs, outs, inits, List.of(fq));
    long opset = Math.min(fq.attributes().opset(), OnnxImporter.MAX_OPSET);
    boolean integer = false;
    for (String o : outs) {
      boolean q = plan.pointOf(o) != null;
      values.put(o, q ? intValue(o, o) : floatValue(o));
      integer |= q;
    }
    Layer.Builder l = Layer.newBuilder().setName(n.name().isEmpty() ? out : n.name()).setOp(Op.CPU).setOutput(out)
        .addAllExtraOutputs(outs.subList(1, outs.size()))
        .setOnnxModel(OnnxExporter.exportVerbatim(sub, opset).toByteString());
    // the layer's inputs in the order of the embedded model's (deduplicated) inputs
    Map<String, String> rename = new LinkedHashMap<>();
    List<String> raw = new ArrayList<>();
    for (String i : n.inputs()) if (!i.isEmpty() && !g.initializers().containsKey(i)) raw.add(i);
    for (int j = 0; j < raw.size(); j++) rename.putIfAbsent(raw.get(j), ins.get(j));
    for (ValueInfo v : inputs) l.addInputs(rename.get(v.name()));
    if (integer) {
      Rounding r = null;
      for (String o : outs) {
        FixPoint q = act(o);
        if (q == null) continue;
        if (r != null && r != q.rounding()) {
          problems.add("node " + n.describe() + ": its outputs are rounded differently, a CPU layer has one rounding");
        }
        r = q.rounding();
      }
      l.setRounding(rounding(r));
    }
    return l;
  }

  /** Whether the value is a float tensor (shape arithmetic left at run time is int64). */
  private boolean floatValued(String value) {
    return !integerValued.contains(value);
  }

  private Layer.Builder conv(Node n, Layer.Builder l) {
    Tensor w = g.initializers().get(n.input(1));
    if (w == null || w.rank() != 4) {
      problems.add("node " + n.describe() + ": only 2-D convs with constant weights deploy");
      return null;
    }
    int[] in = shapes.get(n.input(0));
    ConvGeometry geo = new ConvGeometry(n.attributes(), w.dim(2), w.dim(3), "Conv");
    int[] pads = geo.pads(in[2], in[3]);
    l.setOp(Op.CONV).addKernel(geo.kh).addKernel(geo.kw).addStrides(geo.sh).addStrides(geo.sw)
        .addDilations(geo.dh).addDilations(geo.dw).setGroup((int) n.attributes().getInt("group", 1));
    for (int p : pads) l.addPads(p);
    for (int d : w.shape()) l.addWeightShape(d);
    return weighted(n, l, w.data(), w.dim(0), w.size() / w.dim(0), false);
  }

  private Layer.Builder fc(Node n, Layer.Builder l) {
    Tensor w = g.initializers().get(n.input(1));
    var a = n.attributes();
    if (w == null || w.rank() != 2 || a.getInt("transA", 0) != 0 || a.getFloat("alpha", 1f) != 1f || a.getFloat("beta", 1f) != 1f) {
      problems.add("node " + n.describe() + ": only Gemm with constant weights, no transA, alpha = beta = 1 deploys as FC");
      return null;
    }
    boolean transB = a.getInt("transB", 0) != 0;
    int m = transB ? w.dim(0) : w.dim(1), k = transB ? w.dim(1) : w.dim(0);
    float[] wt = w.data();
    if (!transB) {
      wt = new float[m * k];
      for (int i = 0; i < k; i++) for (int o = 0; o < m; o++) wt[o * k + i] = w.data()[i * m + o];
    }
    l.setOp(Op.FC).addWeightShape(m).addWeightShape(k);
    return weighted(n, l, wt, m, k, true);
  }

  /** Integer weights and bias, the shifts, the activation and the accumulator bound. */
  private Layer.Builder weighted(Node n, Layer.Builder l, float[] w, int m, int k, boolean fc) {
    FixPoint wq = params.params().get(n.input(1));
    FixPoint in = act(n.input(0)), out = act(n.outputs().get(0));
    if (wq == null) {
      problems.add("node " + n.describe() + ": no fix_point for weight '" + n.input(1) + "'");
      return null;
    }
    checkBits(n, n.input(1), wq, "weight", maxBits, "computes");
    // whatever a target computes, the deploy model holds weights as signed bytes (deploy.proto)
    if (wq.bits() > WEIGHT_BYTE_BITS && wq.bits() <= maxBits) {
      problems.add("node " + n.describe() + ": weight is " + wq.bits() + "-bit" + setBy(n.input(1)) + ", the deploy model holds"
          + " weights of at most " + WEIGHT_BYTE_BITS + " bits (one byte each)");
    }
    byte[] wi = new byte[w.length];
    long maxAbsRow = 0;
    for (int o = 0; o < m; o++) {
      long sum = 0;
      for (int i = 0; i < k; i++) {
        int q = wq.quantize(w[o * k + i]);
        wi[o * k + i] = (byte) q;
        sum += Math.abs(q);
      }
      maxAbsRow = Math.max(maxAbsRow, sum);
    }
    int cut = in.fixPoint() + wq.fixPoint() - out.fixPoint();
    l.setWeights(ByteString.copyFrom(wi)).setWeightFixPoint(wq.fixPoint()).setShiftCut(cut);
    if (cut < 0 || cut > QuantParams.MAX_SHIFT_CUT) {
      problems.add("node " + n.describe() + ": shift_cut " + cut + " outside [0, " + QuantParams.MAX_SHIFT_CUT + "]");
    }
    long maxBias = 0;
    int sb = 0;
    if (n.hasInput(2)) {
      FixPoint bq = params.params().get(n.input(2));
      Tensor b = g.initializers().get(n.input(2));
      if (bq == null || b == null) {
        problems.add("node " + n.describe() + ": bias '" + n.input(2) + "' is not a quantized constant");
        return null;
      }
      checkBits(n, n.input(2), bq, "bias", maxBiasBits, "adds biases of");
      sb = in.fixPoint() + wq.fixPoint() - bq.fixPoint();
      if (sb < QuantParams.minShiftBias(cut) || sb > QuantParams.MAX_SHIFT_BIAS) {
        problems.add("node " + n.describe() + ": shift_bias " + sb + " outside [" + QuantParams.minShiftBias(cut) + ", "
            + QuantParams.MAX_SHIFT_BIAS + "]");
      }
      l.setHasBias(true).setBiasFixPoint(bq.fixPoint()).setBiasBits(bq.bits()).setShiftBias(sb);
      for (float v : b.data()) {
        int q = bq.quantize(v);
        l.addBias(q);
        maxBias = Math.max(maxBias, Math.abs((long) q));
      }
    }
    String kind = n.attributes().getString(Activation.FUSED, null);
    if (kind == null) {
      l.setActivation(DeployProto.Activation.NONE);
    } else if (kind.equals("Relu")) {
      l.setActivation(DeployProto.Activation.RELU_ACT);
    } else if (kind.equals("LeakyRelu")) {
      l.setActivation(DeployProto.Activation.LEAKY_RELU);
    } else if (kind.equals("Clip")) {
      var a = n.attributes();
      l.setActivation(DeployProto.Activation.CLIP_ACT).setActMin(a.getFloat(Activation.FUSED_MIN, Float.NEGATIVE_INFINITY))
          .setActMax(a.getFloat(Activation.FUSED_MAX, Float.POSITIVE_INFINITY));
    } else {
      problems.add("node " + n.describe() + ": fused " + kind + " has no DPU equivalent");
    }
    boolean leaky = l.getActivation() == DeployProto.Activation.LEAKY_RELU;
    long bound = AccumulatorBound.of(maxAbsRow, in.bits(), maxBias, sb, leaky);
    l.setAccumulatorBound(bound);
    // beyond the bound fake-quant and the simulator both sum exactly in chunks and round the
    // exact accumulator once to float, which decides every output but a LeakyReLU's (its
    // 26/256 product needs the low bits of accumulators too large for float)
    if (bound >= FLOAT_EXACT && leaky) {
      problems.add("node " + n.describe() + ": accumulator bound " + bound + " >= 2^24 with LeakyReLU, where float"
          + " fake-quant is not provably exact (lower the weight or bias fix_points)");
    }
    return l;
  }

  /** Whether an Add or Mul combines two computed tensors of one shape, as the DPU's eltwise does; else a problem. */
  private boolean eltwise(Node n, String what) {
    if (n.inputs().size() != 2 || g.initializers().containsKey(n.input(0)) || g.initializers().containsKey(n.input(1))) {
      problems.add("node " + n.describe() + ": only " + n.opType() + " of two computed tensors deploys as eltwise " + what);
      return false;
    }
    if (!java.util.Arrays.equals(shapes.get(n.input(0)), shapes.get(n.input(1)))) {
      problems.add("node " + n.describe() + ": eltwise " + what + " needs equal shapes (no broadcasting on the DPU)");
      return false;
    }
    return true;
  }

  private Layer.Builder add(Node n, Layer.Builder l) {
    if (!eltwise(n, "add")) return null;
    int finest = Integer.MIN_VALUE;
    for (String i : n.inputs()) finest = Math.max(finest, act(i).fixPoint());
    int lo = Integer.MAX_VALUE;
    for (String i : n.inputs()) {
      l.addInputShifts(finest - act(i).fixPoint());
      lo = Math.min(lo, act(i).fixPoint());
    }
    int outFp = act(n.outputs().get(0)).fixPoint();
    if (finest - lo > QuantParams.MAX_SHIFT_READ || Math.abs(lo - outFp) > QuantParams.MAX_SHIFT_WRITE) {
      problems.add("node " + n.describe() + ": eltwise shifts outside the DPU's (shift_read " + (finest - lo)
          + ", shift_write " + (lo - outFp) + ")");
    }
    return l.setOp(Op.ELTWISE_ADD).setOutputShift(finest - outFp);
  }

  /**
   * Eltwise multiply: the exact product of the input integers (at most 2·8 bits: exact in
   * fake-quant's float too) shifted to the output's fix_point and rounded once.
   */
  private Layer.Builder mul(Node n, Layer.Builder l) {
    if (!eltwise(n, "multiply")) return null;
    int shift = act(n.input(0)).fixPoint() + act(n.input(1)).fixPoint() - act(n.outputs().get(0)).fixPoint();
    if (shift < DeployCheck.MIN_MUL_SHIFT || shift > DeployCheck.MAX_MUL_SHIFT) {
      problems.add("node " + n.describe() + ": output_shift " + shift + " outside [" + DeployCheck.MIN_MUL_SHIFT + ", "
          + DeployCheck.MAX_MUL_SHIFT + "] (the inputs' and the output's fix_points are too far apart)");
    }
    return l.setOp(Op.ELTWISE_MUL).setOutputShift(shift);
  }

  private Layer.Builder pool(Node n, Layer.Builder l) {
    int[] in = shapes.get(n.input(0));
    boolean global = n.opType().equals("GlobalAveragePool");
    int[] k = DpuGraph.window(n, in);
    ConvGeometry geo = global ? null : new ConvGeometry(n.attributes(), k[0], k[1], n.opType());
    int[] pads = global ? new int[4] : geo.pads(in[2], in[3]);
    l.addKernel(k[0]).addKernel(k[1]).addStrides(global ? 1 : geo.sh).addStrides(global ? 1 : geo.sw)
        .addDilations(global ? 1 : geo.dh).addDilations(global ? 1 : geo.dw);
    for (int p : pads) l.addPads(p);
    if (n.opType().equals("MaxPool")) return l.setOp(Op.MAX_POOL);
    if ((long) k[0] * k[1] > DeployCheck.MAX_POOL_AREA) {
      problems.add("node " + n.describe() + ": averages " + (long) k[0] * k[1] + " taps, more than " + DeployCheck.MAX_POOL_AREA);
      return null;
    }
    DpuAveragePool d = DpuAveragePool.of(k[0], k[1]);
    int s = d.shift() + act(n.input(0)).fixPoint() - act(n.outputs().get(0)).fixPoint();
    if (s < DeployCheck.MIN_AVG_SHIFT || s > DeployCheck.MAX_AVG_SHIFT) {
      problems.add("node " + n.describe() + ": avg_shift " + s + " outside [" + DeployCheck.MIN_AVG_SHIFT + ", "
          + DeployCheck.MAX_AVG_SHIFT + "] (the input and output fix_points are too far apart)");
    }
    return l.setOp(Op.AVG_POOL).setMultiplier(d.multiplier()).setAvgShift(s);
  }

  private void checkBits(Node n, String param, FixPoint q, String what, int max, String verb) {
    if (q.bits() > max) {
      problems.add("node " + n.describe() + ": " + what + " is " + q.bits() + "-bit" + setBy(param) + ", " + limitsOf + " "
          + verb + " at most " + max + " bits");
    }
    if (!q.signed()) problems.add("node " + n.describe() + ": unsigned " + what);
  }

  private FixPoint act(String value) {
    String pt = plan.pointOf(value);
    return pt == null ? null : params.activation(pt);
  }

  private Value floatValue(String name) {
    Value.Builder v = Value.newBuilder().setName(name);
    for (int d : shapes.get(name)) v.addShape(d);
    return v.build();
  }

  /**
   * Integers a DPU layer reads or writes must fit the DPU's datapath; a CPU layer's (its output
   * read by CPU layers or leaving the model only) may be as wide as any quantizer.
   */
  private void checkActivationWidths(DeployModel.Builder m) {
    Set<String> seen = new java.util.HashSet<>();
    for (Layer.Builder l : m.getLayersBuilderList()) {
      if (l.getOp() == Op.CPU || l.getOp() == Op.QUANTIZE) continue;
      List<String> touched = new ArrayList<>(l.getInputsList());
      touched.add(l.getOutput());
      for (String v : touched) {
        Value val = values.get(v);
        if (val == null || !val.getInteger() || val.getBits() <= maxBits || !seen.add(v)) continue;
        String point = plan.pointOf(v.endsWith("/quantized") ? v.substring(0, v.length() - "/quantized".length()) : v);
        problems.add("activation '" + point + "' is " + val.getBits() + "-bit" + setBy(point) + ", " + limitsOf
            + " computes at most " + maxBits + " bits (DPU layer " + l.getName() + ")" + (targeted
                ? "; layers kept in float (a layer rule with exclude: true) run on the CPU at any width up to 16 bits" : ""));
      }
    }
  }

  /** " (set by layers[1] {...})" when a layer rule set the width of the parameter or point, else "". */
  private String setBy(String name) {
    String rule = name == null ? null : ruleOf.get(name);
    return rule == null ? "" : " (set by layer rule " + plan.describeRule(rule) + ")";
  }

  private Value intValue(String name, String of) {
    FixPoint q = act(of);
    Value.Builder v = Value.newBuilder().setName(name).setInteger(true).setBits(q.bits()).setFixPoint(q.fixPoint());
    for (int d : shapes.get(of)) v.addShape(d);
    return v.build();
  }

  static DeployProto.Rounding rounding(Rounding r) {
    switch (r) {
      case HALF_UP: return DeployProto.Rounding.HALF_UP;
      case HALF_AWAY: return DeployProto.Rounding.HALF_AWAY;
      case HALF_EVEN: return DeployProto.Rounding.HALF_EVEN;
      default: throw new AssertionError(r);
    }
  }

  static Rounding rounding(DeployProto.Rounding r) {
    switch (r) {
      case HALF_UP: return Rounding.HALF_UP;
      case HALF_AWAY: return Rounding.HALF_AWAY;
      case HALF_EVEN: return Rounding.HALF_EVEN;
      default: throw new DeployException("deploy model: unknown rounding " + r);
    }
  }
}

package io.qspark.kernels.caffe;

import io.qspark.kernels.caffe.proto.CaffeProto.BlobProto;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobShape;
import io.qspark.kernels.caffe.proto.CaffeProto.ConvolutionParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.EltwiseParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.PoolingParameter;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns Caffe layers, one at a time in net order, into ONNX-typed nodes. Problems are collected
 * (unknown layer types, missing or mismatched blobs) and reported together by {@link #finish}.
 */
final class CaffeGraphBuilder {
  /** Layers that only matter for training or scoring; a deploy net may still carry them. */
  private static final Set<String> SKIPPED = Set.of("Accuracy", "Silence", "SoftmaxWithLoss",
      "EuclideanLoss", "SigmoidCrossEntropyLoss", "HingeLoss", "InfogainLoss", "MultinomialLogisticLoss");
  private static final Set<String> DATA = Set.of("Data", "ImageData", "MemoryData", "HDF5Data", "WindowData");
  private final Map<String, LayerParameter> trained;
  private final String weightsName;
  private final int[] dataDims;
  private final List<ValueInfo> inputs = new ArrayList<>();
  private final Map<String, Tensor> inits = new LinkedHashMap<>();
  private final List<Node> nodes = new ArrayList<>();
  private final Map<String, String> current = new HashMap<>(); // blob -> its latest value
  private final Set<String> used = new HashSet<>();
  private final List<CaffeImporter.Layer> layers = new ArrayList<>();
  private final Set<String> caffeBatchNorms = new HashSet<>();
  private final Set<String> caffeScales = new HashSet<>();
  private final Map<String, List<String>> unsupported = new TreeMap<>();
  private final List<String> problems = new ArrayList<>();
  private final Map<String, Converter> converters = converters();
  /** Types kept in the net but not computed ({@link CaffeImporter#SSD_SOFTWARE}), and the layers and blobs that are. */
  private final Set<String> passThrough;
  private final List<LayerParameter> passed = new ArrayList<>();
  private final Set<String> passedBlobs = new HashSet<>();
  /** Tops of layers that could not be imported (their problem is recorded once, not again by each reader). */
  private final Set<String> unavailable = new HashSet<>();

  CaffeGraphBuilder(NetParameter net, Map<String, LayerParameter> trained, String weightsName, int[] dataDims,
      Set<String> passThrough) {
    this.passThrough = passThrough;
    this.trained = trained;
    this.weightsName = weightsName;
    this.dataDims = dataDims;
    // the deprecated net-level inputs: input + input_shape, or input + 4 input_dim each
    for (int i = 0; i < net.getInputCount(); i++) {
      int[] shape;
      if (net.getInputShapeCount() > i) {
        shape = dims(net.getInputShape(i));
      } else if (net.getInputDimCount() >= 4 * (i + 1)) {
        shape = new int[4];
        for (int d = 0; d < 4; d++) shape[d] = net.getInputDim(4 * i + d);
      } else {
        problems.add("net input '" + net.getInput(i) + "' has no input_shape or input_dim");
        continue;
      }
      current.put(net.getInput(i), input(net.getInput(i), shape));
    }
  }

  List<CaffeImporter.Layer> layers() {
    return layers;
  }

  List<LayerParameter> passedThrough() {
    return passed;
  }

  void add(LayerParameter l) {
    String type = l.getType();
    if (SKIPPED.contains(type)) return;
    int before = nodes.size();
    boolean pass = passThrough.contains(type);
    if (!pass && !converters.containsKey(type)) {
      unsupported.computeIfAbsent(type, k -> new ArrayList<>()).add(l.getName());
      unavailable.addAll(l.getTopList());
      return;
    }
    List<String> in = new ArrayList<>();
    for (String b : l.getBottomList()) {
      if (unavailable.contains(b)) { // after a layer that failed: its problem is reported, not each reader's
        unavailable.addAll(l.getTopList());
        return;
      }
      pass |= passedBlobs.contains(b);
      String v = current.get(b);
      if (v == null && !pass) {
        problems.add("layer '" + l.getName() + "' reads blob '" + b + "', which no earlier layer writes");
        unavailable.addAll(l.getTopList());
        return;
      }
      in.add(v);
    }
    if (pass) {
      // kept for the prototxt, not computed: its tops are no graph values (an in-place top stops being one)
      passed.add(l);
      for (String t : l.getTopList()) {
        passedBlobs.add(t);
        current.remove(t);
      }
      return;
    }
    boolean source = type.equals("Input") || DATA.contains(type);
    if (l.getTopCount() == 0 || !source && in.isEmpty()) {
      problems.add("layer '" + l.getName() + "' (" + type + ") needs " + (source ? "a top" : "a bottom and a top") + ", has "
          + in.size() + " bottoms and " + l.getTopCount() + " tops");
      return;
    }
    List<String> out;
    try {
      out = converters.get(type).convert(l, in);
    } catch (GraphException e) {
      problems.add("layer '" + l.getName() + "' (" + type + "): " + e.getMessage());
      unavailable.addAll(l.getTopList());
      return;
    }
    if (out == null) { // unsupported or a problem, recorded
      unavailable.addAll(l.getTopList());
      return;
    }
    for (int i = 0; i < out.size() && i < l.getTopCount(); i++) {
      current.put(l.getTop(i), out.get(i));
    }
    if (nodes.size() > before || !out.isEmpty()) layers.add(new CaffeImporter.Layer(l, in, out));
  }

  /** One layer type's import: the values the layer's tops become, or null when it cannot be built (recorded). */
  @FunctionalInterface
  private interface Converter {
    List<String> convert(LayerParameter l, List<String> in);
  }

  /** Every layer type qspark computes and how: the one list of supported types. */
  private Map<String, Converter> converters() {
    Map<String, Converter> t = new HashMap<>();
    t.put("Input", (l, in) -> {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < l.getTopCount(); i++) {
        int n = l.getInputParam().getShapeCount();
        if (n == 0) throw new GraphException("input_param has no shape");
        out.add(input(l.getTop(i), dims(l.getInputParam().getShape(Math.min(i, n - 1)))));
      }
      return out;
    });
    for (String d : DATA) t.put(d, (l, in) -> one(data(l)));
    t.put("Convolution", (l, in) -> one(conv(l, false, in.get(0))));
    t.put("Deconvolution", (l, in) -> one(conv(l, true, in.get(0))));
    t.put("InnerProduct", (l, in) -> one(innerProduct(l, in.get(0))));
    t.put("BatchNorm", (l, in) -> one(batchNorm(l, in.get(0))));
    t.put("Scale", (l, in) -> one(scale(l, in)));
    t.put("ReLU", (l, in) -> {
      float slope = l.getReluParam().getNegativeSlope();
      Map<String, Object> a = new LinkedHashMap<>();
      if (slope != 0) a.put("alpha", slope);
      return one(emit(l.getName(), slope == 0 ? "Relu" : "LeakyRelu", in, l.getTop(0), a));
    });
    t.put("Sigmoid", (l, in) -> one(emit(l.getName(), "Sigmoid", in, l.getTop(0), Map.of())));
    t.put("TanH", (l, in) -> one(emit(l.getName(), "Tanh", in, l.getTop(0), Map.of())));
    // inference: Caffe scales at training time, so the layer is the identity
    t.put("Dropout", (l, in) -> one(emit(l.getName(), "Identity", in, l.getTop(0), Map.of())));
    t.put("Split", (l, in) -> java.util.Collections.nCopies(l.getTopCount(), in.get(0)));
    t.put("Pooling", (l, in) -> one(pooling(l, in.get(0))));
    t.put("Eltwise", (l, in) -> one(eltwise(l, in)));
    t.put("Concat", (l, in) -> {
      int axis = l.getConcatParam().hasAxis() || !l.getConcatParam().hasConcatDim()
          ? l.getConcatParam().getAxis() : l.getConcatParam().getConcatDim();
      return one(emit(l.getName(), "Concat", in, l.getTop(0), Map.of("axis", (long) axis)));
    });
    t.put("Softmax", (l, in) -> one(emit(l.getName(), "Softmax", in, l.getTop(0),
        Map.of("axis", (long) l.getSoftmaxParam().getAxis()))));
    t.put("Flatten", (l, in) -> {
      int axis = l.getFlattenParam().getAxis();
      int end = l.getFlattenParam().getEndAxis();
      if (axis != 1 || end != -1) {
        throw new GraphException("only Flatten from axis 1 to the last axis is supported (axis " + axis + ", end_axis " + end + ")");
      }
      return one(emit(l.getName(), "Flatten", in, l.getTop(0), Map.of("axis", 1L)));
    });
    t.put("Reshape", (l, in) -> one(reshape(l, in.get(0))));
    t.put("Power", (l, in) -> one(power(l, in.get(0))));
    t.put("Permute", (l, in) -> one(permute(l, in.get(0))));
    t.put("Crop", (l, in) -> one(crop(l, in)));
    t.put("Normalize", (l, in) -> one(normalize(l, in.get(0))));
    return t;
  }

  /** A single top's value, or null when the layer could not be built (its problem is recorded). */
  private static List<String> one(String v) {
    return v == null ? null : List.of(v);
  }

  private String input(String blob, int[] shape) {
    if (shape.length == 0) throw new GraphException("input '" + blob + "' has an empty shape");
    shape = shape.clone();
    shape[0] = -1; // Caffe fixes the batch in the prototxt; qspark runs any batch
    String v = define(blob, blob);
    inputs.add(new ValueInfo(v, shape));
    return v;
  }

  /** A Data layer's images: the prototxt does not give their size, the caller does. */
  private String data(LayerParameter l) {
    if (dataDims == null) {
      throw new GraphException("a data layer does not say its image size; give it (--dims C,H,W) or use an Input layer");
    }
    return input(l.getTop(0), new int[] {1, dataDims[0], dataDims[1], dataDims[2]});
  }

  private String conv(LayerParameter l, boolean transposed, String x) {
    ConvolutionParameter p = l.getConvolutionParam();
    if (p.getAxis() != 1) throw new GraphException("only channel axis 1 is supported, got " + p.getAxis());
    int[] k = hw(p.getKernelSizeList(), p.hasKernelH(), p.getKernelH(), p.hasKernelW(), p.getKernelW(), -1, "kernel_size");
    int[] pad = hw(p.getPadList(), p.hasPadH(), p.getPadH(), p.hasPadW(), p.getPadW(), 0, "pad");
    int[] s = hw(p.getStrideList(), p.hasStrideH(), p.getStrideH(), p.hasStrideW(), p.getStrideW(), 1, "stride");
    int[] d = hw(p.getDilationList(), false, 0, false, 0, 1, "dilation");
    int oc = p.getNumOutput();
    int group = p.getGroup();
    List<Tensor> blobs = blobs(l, p.getBiasTerm() ? 2 : 1);
    if (blobs == null) return null;
    Tensor w = blobs.get(0);
    int filterOut = transposed ? (w.rank() == 4 ? w.dim(1) * group : -1) : w.dim(0);
    if (w.rank() != 4 || filterOut != oc || w.dim(2) != k[0] || w.dim(3) != k[1]) {
      mismatch(l, 0, w, (transposed ? "[C_in, " + oc / Math.max(1, group) : "[" + oc + ", C_in/" + group) + ", " + k[0] + ", " + k[1] + "]");
      return null;
    }
    List<String> in = new ArrayList<>(List.of(x, initializer(l.getName() + "/weight", w)));
    if (p.getBiasTerm()) {
      Tensor b = vector(l, blobs, 1, oc);
      if (b == null) return null;
      in.add(initializer(l.getName() + "/bias", b));
    }
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("kernel_shape", new long[] {k[0], k[1]});
    a.put("strides", new long[] {s[0], s[1]});
    a.put("pads", new long[] {pad[0], pad[1], pad[0], pad[1]});
    a.put("dilations", new long[] {d[0], d[1]});
    a.put("group", (long) group);
    return emit(l.getName(), transposed ? "ConvTranspose" : "Conv", in, l.getTop(0), a);
  }

  /** Caffe's repeated-or-h/w geometry: one value for both, or (h, w). */
  private static int[] hw(List<Integer> rep, boolean hasH, int h, boolean hasW, int w, int dflt, String what) {
    if (hasH || hasW) return new int[] {hasH ? h : dflt, hasW ? w : dflt};
    if (rep.isEmpty()) {
      if (dflt < 0) throw new GraphException(what + " is missing");
      return new int[] {dflt, dflt};
    }
    if (rep.size() > 2) throw new GraphException("only 2-D layers are supported (" + what + " has " + rep.size() + " values)");
    return new int[] {rep.get(0), rep.get(rep.size() - 1)};
  }

  private String innerProduct(LayerParameter l, String x) {
    var p = l.getInnerProductParam();
    if (p.getAxis() != 1) throw new GraphException("only axis 1 is supported, got " + p.getAxis());
    List<Tensor> blobs = blobs(l, p.getBiasTerm() ? 2 : 1);
    if (blobs == null) return null;
    int n = p.getNumOutput();
    Tensor w = blobs.get(0);
    if (n <= 0 || w.size() % n != 0) {
      mismatch(l, 0, w, "a multiple of num_output " + n + " values");
      return null;
    }
    int k = w.size() / n;
    w = p.getTranspose() ? w.reshape(k, n) : w.reshape(n, k);
    String flat = emit(l.getName() + "/flatten", "Flatten", List.of(x), fresh(l.getName() + "/flatten"), Map.of("axis", 1L));
    List<String> in = new ArrayList<>(List.of(flat, initializer(l.getName() + "/weight", w)));
    if (p.getBiasTerm()) {
      Tensor b = vector(l, blobs, 1, n);
      if (b == null) return null;
      in.add(initializer(l.getName() + "/bias", b));
    }
    return emit(l.getName(), "Gemm", in, l.getTop(0), Map.of("transB", p.getTranspose() ? 0L : 1L));
  }

  /**
   * Caffe's BatchNorm: mean and variance are stored multiplied by a scale factor (third blob),
   * divided out at load; no affine part (the Scale layer after it has it, and is merged in).
   */
  private String batchNorm(LayerParameter l, String x) {
    List<Tensor> blobs = blobs(l, 3);
    if (blobs == null) return null;
    int c = blobs.get(0).size();
    Tensor mean = vector(l, blobs, 0, c);
    Tensor var = vector(l, blobs, 1, c);
    Tensor sf = vector(l, blobs, 2, 1);
    if (mean == null || var == null || sf == null) return null;
    float f = sf.data()[0] == 0 ? 0 : 1 / sf.data()[0];
    float[] m = mean.data().clone();
    float[] v = var.data().clone();
    for (int i = 0; i < c; i++) {
      m[i] *= f;
      v[i] *= f;
    }
    float[] ones = new float[c];
    java.util.Arrays.fill(ones, 1f);
    String n = l.getName();
    List<String> in = List.of(x, initializer(n + "/gamma", Tensor.of(ones, c)), initializer(n + "/beta", Tensor.of(new float[c], c)),
        initializer(n + "/mean", Tensor.of(m, c)), initializer(n + "/var", Tensor.of(v, c)));
    caffeBatchNorms.add(n);
    return emit(n, "BatchNormalization", in, l.getTop(0), Map.of("epsilon", l.getBatchNormParam().getEps()));
  }

  /** Scale over the channel axis as an inference BatchNormalization (mean 0, variance 1, eps 0). */
  private String scale(LayerParameter l, List<String> in) {
    var p = l.getScaleParam();
    if (in.size() != 1 || p.getAxis() != 1 || p.getNumAxes() != 1) {
      throw new GraphException("only a learned per-channel Scale (one bottom, axis 1, num_axes 1) is supported");
    }
    List<Tensor> blobs = blobs(l, p.getBiasTerm() ? 2 : 1);
    if (blobs == null) return null;
    int c = blobs.get(0).size();
    Tensor gamma = vector(l, blobs, 0, c);
    Tensor beta = p.getBiasTerm() ? vector(l, blobs, 1, c) : Tensor.of(new float[c], c);
    if (gamma == null || beta == null) return null;
    float[] ones = new float[c];
    java.util.Arrays.fill(ones, 1f);
    String n = l.getName();
    List<String> ins = List.of(in.get(0), initializer(n + "/gamma", gamma), initializer(n + "/beta", beta),
        initializer(n + "/mean", Tensor.of(new float[c], c)), initializer(n + "/var", Tensor.of(ones, c)));
    caffeScales.add(n);
    return emit(n, "BatchNormalization", ins, l.getTop(0), Map.of("epsilon", 0f));
  }

  private String pooling(LayerParameter l, String x) {
    PoolingParameter p = l.getPoolingParam();
    if (p.getPool() == PoolingParameter.PoolMethod.STOCHASTIC) throw new GraphException("STOCHASTIC pooling is not supported");
    boolean max = p.getPool() == PoolingParameter.PoolMethod.MAX;
    if (p.getGlobalPooling()) {
      if (!max) return emit(l.getName(), "GlobalAveragePool", List.of(x), l.getTop(0), Map.of());
      int[] s = shapeOf(x);
      Map<String, Object> a = Map.of("kernel_shape", new long[] {s[2], s[3]});
      return emit(l.getName(), "MaxPool", List.of(x), l.getTop(0), a);
    }
    int[] k = hw(p.hasKernelSize() ? List.of(p.getKernelSize()) : List.of(), p.hasKernelH(), p.getKernelH(),
        p.hasKernelW(), p.getKernelW(), -1, "kernel_size");
    int[] pad = hw(List.of(p.getPad()), p.hasPadH(), p.getPadH(), p.hasPadW(), p.getPadW(), 0, "pad");
    int[] s = hw(List.of(p.getStride()), p.hasStrideH(), p.getStrideH(), p.hasStrideW(), p.getStrideW(), 1, "stride");
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("kernel_shape", new long[] {k[0], k[1]});
    a.put("strides", new long[] {s[0], s[1]});
    a.put("pads", new long[] {pad[0], pad[1], pad[0], pad[1]});
    // Caffe rounds the output size up (and drops a last window starting in the padding), as
    // ONNX's ceil_mode; its average divides by the window clipped to input + padding, as
    // count_include_pad
    a.put("ceil_mode", p.getRoundMode() == PoolingParameter.RoundMode.CEIL ? 1L : 0L);
    if (!max) a.put("count_include_pad", 1L);
    return emit(l.getName(), max ? "MaxPool" : "AveragePool", List.of(x), l.getTop(0), a);
  }

  private String eltwise(LayerParameter l, List<String> in) {
    EltwiseParameter p = l.getEltwiseParam();
    String n = l.getName();
    if (in.size() < 2) throw new GraphException("Eltwise needs at least two bottoms");
    List<String> xs = new ArrayList<>(in);
    if (p.getCoeffCount() > 0) {
      if (p.getOperation() != EltwiseParameter.EltwiseOp.SUM || p.getCoeffCount() != in.size()) {
        throw new GraphException("coeff needs operation SUM and one value per bottom");
      }
      for (int i = 0; i < xs.size(); i++) {
        float c = p.getCoeff(i);
        if (c == 1f) continue;
        String cn = initializer(n + "/coeff" + i, Tensor.scalar(c));
        xs.set(i, emit(n + "/scale" + i, "Mul", List.of(xs.get(i), cn), fresh(n + "/scale" + i), Map.of()));
      }
    }
    String op;
    switch (p.getOperation()) {
      case SUM: op = xs.size() == 2 ? "Add" : "Sum"; break;
      case MAX: op = "Max"; break;
      case PROD: op = "Mul"; break;
      default: throw new AssertionError(p.getOperation());
    }
    if (op.equals("Mul")) {
      String acc = xs.get(0);
      for (int i = 1; i < xs.size() - 1; i++) {
        acc = emit(n + "/prod" + i, "Mul", List.of(acc, xs.get(i)), fresh(n + "/prod" + i), Map.of());
      }
      return emit(n, "Mul", List.of(acc, xs.get(xs.size() - 1)), l.getTop(0), Map.of());
    }
    return emit(n, op, xs, l.getTop(0), Map.of());
  }

  private String reshape(LayerParameter l, String x) {
    var p = l.getReshapeParam();
    if (p.getAxis() != 0 || p.getNumAxes() != -1) {
      throw new GraphException("only a Reshape of all axes (axis 0, num_axes -1) is supported");
    }
    long[] spec = new long[p.getShape().getDimCount()];
    for (int i = 0; i < spec.length; i++) spec[i] = p.getShape().getDim(i);
    String s = initializer(l.getName() + "/shape", Tensor.ofLongs(spec, spec.length));
    return emit(l.getName(), "Reshape", List.of(x, s), l.getTop(0), Map.of());
  }

  /** y = (shift + scale * x) ^ power, for the powers qspark's ops express (1 and 2). */
  private String power(LayerParameter l, String x) {
    var p = l.getPowerParam();
    String n = l.getName();
    if (p.getPower() != 1f && p.getPower() != 2f) {
      throw new GraphException("only power 1 or 2 is supported, got " + p.getPower());
    }
    boolean square = p.getPower() == 2f;
    boolean mul = p.getScale() != 1f;
    boolean add = p.getShift() != 0f;
    String v = x;
    if (mul) {
      String out = !add && !square ? l.getTop(0) : fresh(n + "/scale");
      v = emit(!add && !square ? n : n + "/scale", "Mul", List.of(v, initializer(n + "/scale", Tensor.scalar(p.getScale()))), out, Map.of());
    }
    if (add) {
      String out = !square ? l.getTop(0) : fresh(n + "/shift");
      v = emit(!square ? n : n + "/shift", "Add", List.of(v, initializer(n + "/shift", Tensor.scalar(p.getShift()))), out, Map.of());
    }
    if (square) return emit(n, "Mul", List.of(v, v), l.getTop(0), Map.of());
    if (!mul && !add) return emit(n, "Identity", List.of(x), l.getTop(0), Map.of());
    return v;
  }

  /** Caffe's Permute (SSD): the listed axes first, the rest in order. */
  private String permute(LayerParameter l, String x) {
    int rank = shapeOf(x).length;
    LinkedHashSet<Long> order = new LinkedHashSet<>();
    for (int o : l.getPermuteParam().getOrderList()) {
      if (o >= rank || !order.add((long) o)) throw new GraphException("order " + l.getPermuteParam().getOrderList() + " is not a permutation of " + rank + " axes");
    }
    for (long d = 0; d < rank; d++) order.add(d);
    long[] perm = order.stream().mapToLong(Long::longValue).toArray();
    return emit(l.getName(), "Transpose", List.of(x), l.getTop(0), Map.of("perm", perm));
  }

  /**
   * SSD's Normalize (weiliu89/caffe normalize_layer.cpp): y = x / sqrt(sum x^2 + eps) * scale,
   * the sum over the channels at each position (across_spatial false, as SSD's conv4_3_norm) or
   * over all of an image's values, the scale one learned value (channel_shared) or one per
   * channel. Float ops, which no DPU target runs: CPU layers between the convs.
   */
  private String normalize(LayerParameter l, String x) {
    var p = l.getNormParam();
    int[] xs = shapeOf(x);
    if (xs.length < 2) throw new GraphException("Normalize needs a [N, C, ...] input, got " + Tensor.shapeString(xs));
    List<Tensor> blobs = blobs(l, 1);
    if (blobs == null) return null;
    int c = xs[1];
    Tensor scale = vector(l, blobs, 0, p.getChannelShared() ? 1 : c);
    if (scale == null) return null;
    int[] scaleShape = new int[xs.length];
    java.util.Arrays.fill(scaleShape, 1);
    if (!p.getChannelShared()) scaleShape[1] = c;
    long[] axes = new long[p.getAcrossSpatial() ? xs.length - 1 : 1];
    for (int i = 0; i < axes.length; i++) axes[i] = i + 1;
    String n = l.getName();
    String sq = emit(n + "/square", "Mul", List.of(x, x), fresh(n + "/square"), Map.of());
    String sum = emit(n + "/sum", "ReduceSum", List.of(sq, initializer(n + "/axes", Tensor.ofLongs(axes, axes.length))),
        fresh(n + "/sum"), Map.of("keepdims", 1L));
    String eps = emit(n + "/eps", "Add", List.of(sum, initializer(n + "/eps", Tensor.scalar(p.getEps()))), fresh(n + "/eps"), Map.of());
    String norm = emit(n + "/norm", "Sqrt", List.of(eps), fresh(n + "/norm"), Map.of());
    String y = emit(n + "/div", "Div", List.of(x, norm), fresh(n + "/div"), Map.of());
    return emit(n, "Mul", List.of(y, initializer(n + "/scale", scale.reshape(scaleShape))), l.getTop(0), Map.of());
  }

  /** Crop the first bottom to the second's size from `axis` on, at the given offsets. */
  private String crop(LayerParameter l, List<String> in) {
    if (in.size() != 2) throw new GraphException("Crop needs two bottoms");
    int[] ref = shapeOf(in.get(1));
    int rank = shapeOf(in.get(0)).length;
    var p = l.getCropParam();
    int axis = p.getAxis() < 0 ? p.getAxis() + rank : p.getAxis();
    if (axis < 1 || axis >= rank) throw new GraphException("crop axis " + p.getAxis() + " (the batch axis cannot be cropped)");
    int n = rank - axis;
    if (p.getOffsetCount() > 1 && p.getOffsetCount() != n) {
      throw new GraphException(p.getOffsetCount() + " offsets for " + n + " cropped axes");
    }
    long[] starts = new long[n], ends = new long[n], axes = new long[n];
    for (int i = 0; i < n; i++) {
      long off = p.getOffsetCount() == 0 ? 0 : p.getOffset(p.getOffsetCount() == 1 ? 0 : i);
      starts[i] = off;
      ends[i] = off + ref[axis + i];
      axes[i] = axis + i;
    }
    String nm = l.getName();
    return emit(nm, "Slice", List.of(in.get(0), initializer(nm + "/starts", Tensor.ofLongs(starts, n)),
        initializer(nm + "/ends", Tensor.ofLongs(ends, n)), initializer(nm + "/axes", Tensor.ofLongs(axes, n))), l.getTop(0), Map.of());
  }

  /** The layer's trained blobs (at least `need` of them), or null with the problem recorded. */
  private List<Tensor> blobs(LayerParameter l, int need) {
    LayerParameter t = trained.get(l.getName());
    List<BlobProto> bs = t != null && t.getBlobsCount() > 0 ? t.getBlobsList() : l.getBlobsList();
    if (t != null && !t.getType().equals(l.getType())) {
      problems.add("layer '" + l.getName() + "' is " + l.getType() + " in the prototxt but " + t.getType() + " in " + weightsName);
      return null;
    }
    if (bs.size() < need) {
      problems.add("layer '" + l.getName() + "' (" + l.getType() + ") needs " + need + " blobs, " + weightsName + " has "
          + (t == null ? "no layer of that name" : bs.size()));
      return null;
    }
    List<Tensor> r = new ArrayList<>();
    for (int i = 0; i < bs.size(); i++) {
      try {
        r.add(CaffeImporter.tensor(bs.get(i)));
      } catch (GraphException e) {
        problems.add("layer '" + l.getName() + "' blob " + i + ": " + e.getMessage());
        return null;
      }
    }
    return r;
  }

  /** Blob i as a vector of n values (any shape holding exactly n), or null with the problem recorded. */
  private Tensor vector(LayerParameter l, List<Tensor> blobs, int i, int n) {
    Tensor t = blobs.get(i);
    if (t.size() != n) {
      mismatch(l, i, t, n + " values");
      return null;
    }
    return t.reshape(n);
  }

  private void mismatch(LayerParameter l, int i, Tensor t, String expected) {
    problems.add("layer '" + l.getName() + "' (" + l.getType() + "): blob " + i + " in " + weightsName + " has shape "
        + Tensor.shapeString(t.shape()) + ", the prototxt needs " + expected);
  }

  private String initializer(String name, Tensor t) {
    String n = fresh(name);
    inits.put(n, t);
    return n;
  }

  private String emit(String name, String op, List<String> in, String top, Map<String, Object> attrs) {
    String out = define(top, name);
    nodes.add(CaffeImporter.node(name, op, in, List.of(out), attrs));
    return out;
  }

  /** A new value for blob `top`: its own name the first time, then the writing layer's (in-place layers). */
  private String define(String top, String layer) {
    if (used.add(top)) return top;
    return fresh(layer);
  }

  private String fresh(String base) {
    if (used.add(base)) return base;
    for (int i = 2; ; i++) if (used.add(base + "#" + i)) return base + "#" + i;
  }

  /** The static shape of a value so far (batch -1), running the partial graph's shape inference. */
  private int[] shapeOf(String value) {
    Graph partial = new Graph("partial", inputs, List.of(value), inits, nodes).pruned();
    return ShapeInference.infer(partial).get(value);
  }

  private static int[] dims(BlobShape s) {
    int[] r = new int[s.getDimCount()];
    for (int i = 0; i < r.length; i++) r[i] = (int) s.getDim(i);
    return r;
  }

  Graph finish(String name) {
    if (!unsupported.isEmpty()) {
      List<String> u = new ArrayList<>();
      unsupported.forEach((t, ls) -> u.add(t + " (" + String.join(", ", ls) + ")"));
      boolean ssd = unsupported.keySet().stream().anyMatch(CaffeImporter.SSD_SOFTWARE::contains);
      problems.add(0, "unsupported Caffe layer types: " + String.join(", ", u) + (ssd
          ? " (qspark computes no priors, NMS or argmax; qspark xportdnn passes such layers through to CHaiDNN)" : ""));
    }
    if (inputs.isEmpty()) problems.add("no Input layer or net input");
    if (!problems.isEmpty()) throw new GraphException(String.join("; ", problems));
    List<Node> merged = mergeBatchNormScale();
    Set<String> consumed = new HashSet<>();
    for (Node n : merged) consumed.addAll(n.inputs());
    // Caffe's net outputs: blobs no layer reads
    List<String> outputs = new ArrayList<>();
    for (String blob : finalBlobs()) {
      String v = current.get(blob);
      if (v != null && !consumed.contains(v) && !outputs.contains(v) && inputs.stream().noneMatch(i -> i.name().equals(v))) outputs.add(v);
    }
    if (outputs.isEmpty()) throw new GraphException("the net has no output blob");
    Set<String> live = new HashSet<>(consumed);
    Map<String, Tensor> keep = new LinkedHashMap<>();
    inits.forEach((k, v) -> {
      if (live.contains(k)) keep.put(k, v);
    });
    return new Graph(name, inputs, outputs, keep, merged);
  }

  private List<String> finalBlobs() {
    List<String> blobs = new ArrayList<>();
    for (CaffeImporter.Layer l : layers) {
      for (String t : l.param().getTopList()) if (!blobs.contains(t)) blobs.add(t);
    }
    return blobs;
  }

  /**
   * A Caffe BatchNorm followed by its Scale becomes one BatchNormalization (the form ONNX
   * exporters write and FoldBatchNorm folds into the conv), when nothing else reads the
   * normalized value.
   */
  private List<Node> mergeBatchNormScale() {
    Map<String, Integer> readers = new HashMap<>();
    for (Node n : nodes) for (String i : n.inputs()) readers.merge(i, 1, Integer::sum);
    Map<String, Node> producer = new HashMap<>();
    for (Node n : nodes) producer.put(n.outputs().get(0), n);
    Map<Node, Node> replace = new HashMap<>();
    Set<Node> drop = new HashSet<>();
    Map<String, String> alias = new HashMap<>();
    for (Node s : nodes) {
      if (!caffeScales.contains(s.name())) continue;
      String v = s.input(0);
      Node bn = producer.get(v);
      if (bn == null || !caffeBatchNorms.contains(bn.name()) || readers.get(v) != 1) continue;
      if (replace.containsKey(bn)) continue;
      Node m = new Node(bn.name(), "BatchNormalization", List.of(bn.input(0), s.input(1), s.input(2), bn.input(3), bn.input(4)),
          s.outputs(), bn.attributes());
      replace.put(bn, m);
      drop.add(s);
      alias.put(v, s.outputs().get(0));
    }
    List<Node> r = new ArrayList<>();
    for (Node n : nodes) {
      if (drop.contains(n)) continue;
      r.add(replace.getOrDefault(n, n));
    }
    if (!alias.isEmpty()) {
      for (int i = 0; i < layers.size(); i++) {
        CaffeImporter.Layer l = layers.get(i);
        layers.set(i, new CaffeImporter.Layer(l.param(), l.inputs().stream().map(x -> alias.getOrDefault(x, x)).toList(),
            l.outputs().stream().map(x -> alias.getOrDefault(x, x)).toList()));
      }
      current.replaceAll((k, x) -> alias.getOrDefault(x, x));
    }
    return r;
  }
}

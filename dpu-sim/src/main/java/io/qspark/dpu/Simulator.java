package io.qspark.dpu;

import io.qspark.dpu.proto.DeployProto;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Value;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.ops.DpuAveragePool;
import io.qspark.kernels.ops.ExactConv;
import io.qspark.kernels.quant.AccumulatorBound;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Executes a deploy model with integer arithmetic only: every DPU value is an int[] of
 * integers at its fix_point. Convolutions take a fast path where it is provably exact: the
 * integers as floats through qspark's SIMD float conv with the aligned bias as its bias, exact
 * while every partial sum fits float's 24-bit significand (the layer's accumulator bound below
 * 2^24), then one flat requantization pass ({@link FastIntegerOps}); two-input eltwise adds
 * have a fast loop too. Everything else runs the long-accumulator reference kernels of
 * {@link IntegerOps}, which the fast paths are tested against. Convs beyond the bound sum
 * exactly in chunks ({@link ExactConv}) as fake-quant does; CPU layers run in float.
 * Stateless between calls; one instance may serve several threads.
 */
public final class Simulator {
  private final DeployModel model;
  private final Map<String, Value> values = new HashMap<>();
  private final List<Step> steps = new ArrayList<>();
  private final boolean reference;

  /** An output tensor: integers at a fix_point (or float values for a CPU output). */
  public record Output(String name, int[] shape, int[] ints, int fixPoint, float[] floats) {
    public float[] dequantized() {
      if (floats != null) return floats;
      float[] f = new float[ints.length];
      for (int i = 0; i < f.length; i++) f[i] = (float) Math.scalb((double) ints[i], -fixPoint);
      return f;
    }
  }

  public Simulator(DeployModel model) {
    this(model, false);
  }

  /** @param reference run every layer on the reference kernels (tests compare both). */
  public Simulator(DeployModel model, boolean reference) {
    this.model = model;
    this.reference = reference;
    for (Value v : model.getValuesList()) values.put(v.getName(), v);
    for (Layer l : model.getLayersList()) steps.add(step(l));
  }

  public DeployModel model() {
    return model;
  }

  /**
   * Runs a batch; feeds by graph input name, [n, ...] float. A model with a batch chunk runs
   * chunk after chunk, the outputs joined along the batch.
   */
  public Map<String, Output> run(Map<String, Tensor> feeds) {
    return run(feeds, null);
  }

  /** Sees every layer's output as the layer writes it (a golden dump's source). */
  public interface LayerObserver {
    /**
     * @param index the layer's position in the deploy model
     * @param output the layer's first output: integers at its fix_point, or floats
     */
    void layer(int index, Layer layer, Output output);
  }

  /**
   * As {@link #run(Map)}, showing {@code observer} (null: none) each layer's output in execution
   * order; a model with a batch chunk shows each chunk of images in turn.
   */
  public Map<String, Output> run(Map<String, Tensor> feeds, LayerObserver observer) {
    // every feed checked before the batch is cut into chunks
    int n = -1;
    for (String in : model.getInputsList()) {
      Tensor t = feeds.get(in);
      if (t == null) throw new DeployException("no value fed for input '" + in + "'");
      checkFeed(in, t.shape());
      if (n >= 0 && t.dim(0) != n) {
        throw new DeployException("input '" + in + "' is fed a batch of " + t.dim(0) + " and input '" + model.getInputs(0)
            + "' one of " + n + "; every input takes the same batch");
      }
      n = t.dim(0);
    }
    int chunk = model.getBatchChunk();
    // as the kernels' Executor runs the fake-quant model: a batch short of a chunk is refused too
    if (chunk > 0 && n > 0 && n % chunk != 0) {
      throw new DeployException("the model was exported with a fixed batch of " + chunk + " that its graph does not let be"
          + " freed (it mixes the images), so it runs batches that are multiples of " + chunk + ", not " + n);
    }
    if (chunk <= 0 || n <= chunk) return runOnce(feeds, observer);
    List<Map<String, Output>> parts = new ArrayList<>();
    for (int from = 0; from < n; from += chunk) {
      Map<String, Tensor> part = new LinkedHashMap<>();
      for (String in : model.getInputsList()) part.put(in, feeds.get(in).slice0(from, from + chunk));
      parts.add(runOnce(part, observer));
    }
    Map<String, Output> out = new LinkedHashMap<>();
    for (String o : model.getOutputsList()) {
      Output first = parts.get(0).get(o);
      int[] shape = first.shape().clone();
      shape[0] *= parts.size();
      int per = first.ints() != null ? first.ints().length : first.floats().length;
      int[] ints = first.ints() != null ? new int[per * parts.size()] : null;
      float[] floats = first.ints() == null ? new float[per * parts.size()] : null;
      for (int i = 0; i < parts.size(); i++) {
        Output p = parts.get(i).get(o);
        if (ints != null) System.arraycopy(p.ints(), 0, ints, i * per, per);
        else System.arraycopy(p.floats(), 0, floats, i * per, per);
      }
      out.put(o, new Output(o, shape, ints, first.fixPoint(), floats));
    }
    return out;
  }

  private Map<String, Output> runOnce(Map<String, Tensor> feeds, LayerObserver observer) {
    Map<String, Slot> env = new HashMap<>();
    for (String in : model.getInputsList()) {
      Tensor t = feeds.get(in);
      env.put(in, new Slot(t.shape(), null, t.data()));
    }
    for (int i = 0; i < steps.size(); i++) {
      steps.get(i).run(env);
      if (observer == null) continue;
      Layer l = model.getLayers(i);
      Slot s = env.get(l.getOutput());
      observer.layer(i, l, new Output(l.getOutput(), s.shape, s.ints, values.get(l.getOutput()).getFixPoint(),
          s.ints == null ? s.floats : null));
    }
    Map<String, Output> out = new LinkedHashMap<>();
    for (String o : model.getOutputsList()) {
      Slot s = env.get(o);
      Value v = values.get(o);
      out.put(o, new Output(o, s.shape, s.ints, v.getFixPoint(), s.ints == null ? s.floats : null));
    }
    return out;
  }

  /** The feed's shape is the input value's, the batch free (the layers' shapes were checked against the value's). */
  private void checkFeed(String in, int[] shape) {
    List<Integer> want = values.get(in).getShapeList();
    boolean ok = shape.length == want.size() && shape.length > 0;
    for (int i = 1; ok && i < shape.length; i++) ok = want.get(i) == -1 || want.get(i) == shape[i];
    if (!ok) {
      throw new DeployException("input '" + in + "' is fed shape " + java.util.Arrays.toString(shape) + "; the deploy model takes "
          + want + " (-1: any)");
    }
  }

  /** Single input and output. */
  public Output run(Tensor input) {
    return run(Map.of(model.getInputs(0), input)).values().iterator().next();
  }

  /** A value during a run: integers, or floats at the CPU boundary. */
  private record Slot(int[] shape, int[] ints, float[] floats) {}

  private interface Step {
    void run(Map<String, Slot> env);
  }

  private Step step(Layer l) {
    Value out = values.get(l.getOutput());
    int bits = out.getBits();
    Rounding r = l.getRounding() == DeployProto.Rounding.ROUNDING_UNSPECIFIED ? Rounding.HALF_UP
        : DeployCompiler.rounding(l.getRounding());
    String o = l.getOutput();
    switch (l.getOp()) {
      case QUANTIZE: {
        FixPoint q = new FixPoint(bits, out.getFixPoint(), r);
        String in = l.getInputs(0);
        return env -> {
          Slot x = env.get(in);
          int[] y = new int[x.floats.length];
          for (int i = 0; i < y.length; i++) y[i] = q.quantize(x.floats[i]);
          env.put(o, new Slot(x.shape, y, null));
        };
      }
      case CONV:
        return conv(l, out, r);
      case FC:
        return fc(l, out, r);
      case ELTWISE_ADD: {
        int[] shifts = l.getInputShiftsList().stream().mapToInt(Integer::intValue).toArray();
        List<String> ins = l.getInputsList();
        return env -> {
          int[][] xs = new int[ins.size()][];
          for (int j = 0; j < xs.length; j++) xs[j] = env.get(ins.get(j)).ints;
          int[] y = new int[xs[0].length];
          if (xs.length == 2 && !reference) {
            FastIntegerOps.add2(xs[0], xs[1], shifts[0], shifts[1], l.getOutputShift(), bits, r, y);
          } else {
            IntegerOps.add(xs, shifts, l.getOutputShift(), bits, r, y);
          }
          env.put(o, new Slot(env.get(ins.get(0)).shape, y, null));
        };
      }
      case ELTWISE_MUL: {
        String a = l.getInputs(0), b = l.getInputs(1);
        return env -> {
          Slot x = env.get(a);
          int[] y = new int[x.ints.length];
          IntegerOps.mul(x.ints, env.get(b).ints, l.getOutputShift(), bits, r, y);
          env.put(o, new Slot(x.shape, y, null));
        };
      }
      case RELU: {
        String in = l.getInputs(0);
        return env -> {
          Slot x = env.get(in);
          int[] y = new int[x.ints.length];
          for (int i = 0; i < y.length; i++) y[i] = Math.max(0, x.ints[i]);
          env.put(o, new Slot(x.shape, y, null));
        };
      }
      case RESHAPE: {
        String in = l.getInputs(0);
        int[] shape = out.getShapeList().stream().mapToInt(Integer::intValue).toArray();
        return env -> {
          Slot x = env.get(in);
          int[] s = shape.clone();
          s[0] = x.shape[0];
          env.put(o, new Slot(s, x.ints, null));
        };
      }
      case MAX_POOL:
      case AVG_POOL:
        return pool(l, out, r);
      case CONCAT: {
        List<String> ins = l.getInputsList();
        int axis = l.getAxis();
        return env -> {
          int[] s0 = env.get(ins.get(0)).shape;
          int outer = 1, inner = 1, total = 0;
          for (int d = 0; d < axis; d++) outer *= s0[d];
          for (int d = axis + 1; d < s0.length; d++) inner *= s0[d];
          for (String in : ins) total += env.get(in).shape[axis];
          int[] y = new int[outer * total * inner];
          int off = 0;
          for (String in : ins) {
            Slot x = env.get(in);
            int len = x.shape[axis] * inner;
            for (int b = 0; b < outer; b++) System.arraycopy(x.ints, b * len, y, b * total * inner + off, len);
            off += len;
          }
          int[] s = s0.clone();
          s[axis] = total;
          env.put(o, new Slot(s, y, null));
        };
      }
      case CPU:
        return cpu(l, out, r);
      default:
        throw new DeployException("deploy model: layer '" + l.getName() + "' has op " + l.getOp() + ", which this simulator does not run");
    }
  }

  private static int[] ints(List<Integer> l) {
    return l.stream().mapToInt(Integer::intValue).toArray();
  }

  private static IntegerOps.Requant requant(Layer l, Value in, Value out, Rounding r) {
    int kind = switch (l.getActivation()) {
      case RELU_ACT -> IntegerOps.Requant.RELU;
      case CLIP_ACT -> IntegerOps.Requant.CLIP;
      case LEAKY_RELU -> IntegerOps.Requant.LEAKY;
      default -> IntegerOps.Requant.NONE;
    };
    return new IntegerOps.Requant(l.getShiftBias(), l.getShiftCut(), kind, l.getActMin(), l.getActMax(),
        in.getFixPoint() + l.getWeightFixPoint(), new FixPoint(out.getBits(), out.getFixPoint(), r));
  }

  private Step conv(Layer l, Value out, Rounding r) {
    String in = l.getInputs(0);
    Value inV = values.get(in);
    IntegerOps.Requant rq = requant(l, inV, out, r);
    byte[] w = l.getWeights().toByteArray();
    int m = l.getWeightShape(0), kh = l.getKernel(0), kw = l.getKernel(1);
    int[] strides = ints(l.getStridesList()), pads = ints(l.getPadsList()), dil = ints(l.getDilationsList());
    int group = Math.max(1, l.getGroup());
    int[] bias = l.getHasBias() ? ints(l.getBiasList()) : null;
    int oh = out.getShape(2), ow = out.getShape(3);
    int sb = bias == null ? 0 : l.getShiftBias();
    // the float conv computes the accumulator in the finest unit, bias included: when the bias
    // is finer (shift_bias < 0) the weights are scaled by 2^-shift_bias instead (exact in float)
    long maxBias = 0;
    if (bias != null) for (int b : bias) maxBias = Math.max(maxBias, Math.abs((long) b));
    long products = productBound(w, m, 1 << (inV.getBits() - 1));
    long bound = sb >= 0 ? products + (maxBias << sb) : (products << -sb) + maxBias;
    if (!reference && bound >= DeployCompiler.FLOAT_EXACT) return exactConv(l, inV, rq, w, m, oh, ow, bias);
    if (reference) {
      ConvGeometry geo = ConvGeometry.window(kh, kw, strides[0], strides[1], dil[0], dil[1]);
      return env -> {
        Slot x = env.get(in);
        int n = x.shape[0];
        int[] y = new int[n * m * oh * ow];
        IntegerOps.conv(x.ints, w, bias, new ConvShape(x.shape, new int[] {n, m, oh, ow}, group, geo, pads), rq, y);
        env.put(o(l), new Slot(new int[] {n, m, oh, ow}, y, null));
      };
    }
    FastIntegerOps.Requantizer fast = requantizer(l, inV, out, r);
    float wScale = sb < 0 ? (float) Math.scalb(1.0, -sb) : 1f;
    float[] wf = new float[w.length];
    for (int i = 0; i < w.length; i++) wf[i] = w[i] * wScale;
    Tensor wt = Tensor.of(wf, ints(l.getWeightShapeList()));
    Tensor bt = null;
    if (bias != null) {
      float[] bf = new float[m];
      for (int i = 0; i < m; i++) bf[i] = sb >= 0 ? (float) ((long) bias[i] << sb) : bias[i];
      bt = Tensor.of(bf, m);
    }
    Map<String, Object> a = new HashMap<>();
    a.put("kernel_shape", new long[] {kh, kw});
    a.put("strides", new long[] {strides[0], strides[1]});
    a.put("dilations", new long[] {dil[0], dil[1]});
    a.put("pads", new long[] {pads[0], pads[1], pads[2], pads[3]});
    a.put("group", (long) group);
    Conv op = new Conv(new Attributes(a));
    Tensor[] args = bt == null ? new Tensor[] {null, wt} : new Tensor[] {null, wt, bt};
    return env -> {
      Slot x = env.get(in);
      int n = x.shape[0];
      float[] xf = new float[x.ints.length];
      for (int i = 0; i < xf.length; i++) xf[i] = x.ints[i];
      Tensor[] call = args.clone();
      call[0] = Tensor.of(xf, x.shape);
      float[] acc = op.forward(call)[0].data();
      int[] y = new int[acc.length];
      fast.apply(acc, 0, acc.length, y, 0);
      env.put(o(l), new Slot(new int[] {n, m, oh, ow}, y, null));
    };
  }

  /**
   * A conv beyond the float bound: exact sums of products in chunks (as fake-quant's
   * {@link ExactConv}), as longs, then the reference requantization.
   */
  private Step exactConv(Layer l, Value inV, IntegerOps.Requant rq, byte[] w, int m, int oh, int ow, int[] bias) {
    int maxAbs = 0;
    float[] wf = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      wf[i] = w[i];
      maxAbs = Math.max(maxAbs, Math.abs(w[i]));
    }
    int chunk = AccumulatorBound.chunk(maxAbs, inV.getBits());
    int kh = l.getKernel(0), kw = l.getKernel(1), group = Math.max(1, l.getGroup());
    Map<String, Object> a = new HashMap<>();
    a.put("strides", new long[] {l.getStrides(0), l.getStrides(1)});
    a.put("dilations", new long[] {l.getDilations(0), l.getDilations(1)});
    ConvGeometry geo = new ConvGeometry(new Attributes(a), kh, kw, "Conv");
    int[] pads = ints(l.getPadsList());
    String in = l.getInputs(0);
    return env -> {
      Slot x = env.get(in);
      int n = x.shape[0], plane = oh * ow;
      float[] xf = new float[x.ints.length];
      for (int i = 0; i < xf.length; i++) xf[i] = x.ints[i];
      double[] sums = new double[n * m * plane];
      ExactConv.sums(xf, wf, sums, new ConvShape(x.shape, new int[] {n, m, oh, ow}, group, geo, pads), chunk);
      int[] y = new int[sums.length];
      for (int i = 0; i < y.length; i++) y[i] = rq.apply((long) sums[i], bias == null ? 0 : bias[(i / plane) % m]);
      env.put(o(l), new Slot(new int[] {n, m, oh, ow}, y, null));
    };
  }

  private static FastIntegerOps.Requantizer requantizer(Layer l, Value in, Value out, Rounding r) {
    int kind = switch (l.getActivation()) {
      case RELU_ACT -> IntegerOps.Requant.RELU;
      case CLIP_ACT -> IntegerOps.Requant.CLIP;
      case LEAKY_RELU -> IntegerOps.Requant.LEAKY;
      default -> IntegerOps.Requant.NONE;
    };
    return new FastIntegerOps.Requantizer(l.getHasBias() ? l.getShiftBias() : 0, l.getShiftCut(), kind, l.getActMin(),
        l.getActMax(), in.getFixPoint() + l.getWeightFixPoint(), new FixPoint(out.getBits(), out.getFixPoint(), r));
  }

  /**
   * A CPU layer: its embedded model run in float by qspark's executor on the dequantized inputs
   * (exactly the floats fake-quant holds), the output quantized as fake-quant quantizes it.
   */
  private Step cpu(Layer l, Value out, Rounding r) {
    Graph g;
    Executor ex;
    try {
      g = OnnxImporter.parse(l.getOnnxModel().toByteArray(), null, "CPU layer '" + l.getName() + "'").graph();
      ex = new Executor(g, 1);
    } catch (GraphException e) {
      throw new DeployException("deploy model: " + e.getMessage(), e);
    }
    List<String> outs = new ArrayList<>(List.of(l.getOutput()));
    outs.addAll(l.getExtraOutputsList());
    if (g.inputs().size() != l.getInputsCount() || g.outputs().size() != outs.size()) {
      throw new DeployException("deploy model: CPU layer '" + l.getName() + "' has " + l.getInputsCount() + " inputs and "
          + outs.size() + " outputs, its model " + g.inputs().size() + " inputs, " + g.outputs().size() + " outputs");
    }
    // each output quantized at its own fix_point (null: it stays float)
    FixPoint[] qs = new FixPoint[outs.size()];
    for (int j = 0; j < qs.length; j++) {
      Value v = values.get(outs.get(j));
      qs[j] = v.getInteger() ? new FixPoint(v.getBits(), v.getFixPoint(), r) : null;
    }
    List<String> ins = l.getInputsList();
    return env -> {
      Map<String, Tensor> feeds = new HashMap<>();
      for (int j = 0; j < ins.size(); j++) {
        Slot x = env.get(ins.get(j));
        float[] f = x.floats;
        if (f == null) {
          int fp = values.get(ins.get(j)).getFixPoint();
          f = new float[x.ints.length];
          for (int i = 0; i < f.length; i++) f[i] = (float) Math.scalb((double) x.ints[i], -fp);
        }
        feeds.put(g.inputs().get(j).name(), Tensor.of(f, x.shape));
      }
      Map<String, Tensor> ys = ex.run(feeds);
      for (int j = 0; j < qs.length; j++) {
        Tensor y = ys.get(g.outputs().get(j));
        if (qs[j] == null) {
          env.put(outs.get(j), new Slot(y.shape(), null, y.data()));
          continue;
        }
        float[] v = y.data();
        int[] yi = new int[v.length];
        for (int i = 0; i < v.length; i++) yi[i] = qs[j].quantize(v[i]);
        env.put(outs.get(j), new Slot(y.shape(), yi, null));
      }
    };
  }

  private static String o(Layer l) {
    return l.getOutput();
  }

  /** max over output channels of sum |w| * maxX: a bound on every partial sum of products. */
  static long productBound(byte[] w, int m, long maxX) {
    int k = w.length / m;
    long best = 0;
    for (int o = 0; o < m; o++) {
      long s = 0;
      for (int i = 0; i < k; i++) s += Math.abs(w[o * k + i]);
      best = Math.max(best, s);
    }
    return best * maxX;
  }

  private Step fc(Layer l, Value out, Rounding r) {
    String in = l.getInputs(0);
    IntegerOps.Requant rq = requant(l, values.get(in), out, r);
    byte[] w = l.getWeights().toByteArray();
    int m = l.getWeightShape(0), k = l.getWeightShape(1);
    int[] bias = l.getHasBias() ? ints(l.getBiasList()) : null;
    return env -> {
      Slot x = env.get(in);
      int n = x.shape[0];
      int[] y = new int[n * m];
      IntegerOps.fc(x.ints, n, k, w, m, bias, rq, y);
      env.put(o(l), new Slot(new int[] {n, m}, y, null));
    };
  }

  private Step pool(Layer l, Value out, Rounding r) {
    String in = l.getInputs(0);
    boolean max = l.getOp() == DeployProto.Op.MAX_POOL;
    int kh = l.getKernel(0), kw = l.getKernel(1);
    int[] strides = ints(l.getStridesList()), pads = ints(l.getPadsList()), dil = ints(l.getDilationsList());
    int[] outShape = ints(out.getShapeList());
    int oh = outShape[2], ow = outShape[3];
    int bits = out.getBits();
    ConvGeometry geo = ConvGeometry.window(kh, kw, strides[0], strides[1], dil[0], dil[1]);
    DpuAveragePool avg = new DpuAveragePool(l.getMultiplier(), l.getAvgShift());
    return env -> {
      Slot x = env.get(in);
      int n = x.shape[0], c = x.shape[1];
      int[] y = new int[n * c * oh * ow];
      // each plane pooled alone: the shape of a depthwise conv
      ConvShape s = new ConvShape(x.shape, new int[] {n, c, oh, ow}, Math.max(1, c), geo, pads);
      IntegerOps.pool(max, x.ints, s, avg, bits, r, y);
      env.put(o(l), new Slot(new int[] {n, c, oh, ow}, y, null));
    };
  }
}

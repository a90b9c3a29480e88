package io.qspark.dpu;

import io.qspark.dpu.proto.DeployProto;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.dpu.proto.DeployProto.Value;
import io.qspark.kernels.exec.ShapeInference;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.ops.DpuAveragePool;
import io.qspark.kernels.quant.AccumulatorBound;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every field of a deploy model within the range dpu-sim/README.md gives it, and consistent with
 * the others: values' bit widths and fix_points, each layer's shifts equal to what its fix_points
 * make them and inside the DPU's legal ranges, clip limits not NaN, weights and biases the size
 * their shapes say, output shapes what the window geometry gives, and only the features of its
 * format version (version 1 has no batch_chunk, ELTWISE_MUL or extra outputs). A model that
 * passes runs in {@link Simulator} without reading past an array or shifting by more than a long
 * holds; the first problem found is reported in one line.
 */
final class DeployCheck {
  /**
   * The narrowest and the widest integer values: any quantizer's width (a layer kept in float
   * writes its output at up to 16 bits for CPU layers; a target may compute 16-bit activations).
   */
  static final int MIN_BITS = FixPoint.MIN_BITS, MAX_BITS = FixPoint.MAX_BITS;
  static final int MAX_FIX_POINT = FixPoint.MAX_FIX_POINT;
  /** bias_bits: 0 in files written before it was recorded, else a width an int holds. */
  static final int MAX_BIAS_BITS = 32;
  /**
   * AVG_POOL's avg_shift: no DPU rule is published, so the range keeps sum * multiplier shifted
   * either way inside a long (windows up to {@link #MAX_POOL_AREA} taps).
   */
  static final int MIN_AVG_SHIFT = -16, MAX_AVG_SHIFT = 62;
  static final long MAX_POOL_AREA = 1L << 24;
  /**
   * ELTWISE_MUL's output_shift: no DPU rule is published, so the range keeps the product of two
   * {@link #MAX_BITS}-bit integers (at most 2^(2·MAX_BITS − 2) in magnitude) shifted either way
   * inside a long.
   */
  static final int MIN_MUL_SHIFT = -(IntegerOps.MAX_SHIFT - 2 * (MAX_BITS - 1)), MAX_MUL_SHIFT = IntegerOps.MAX_SHIFT;
  /** Kernel sizes, strides, dilations and pads: far beyond any network, small enough that no geometry sum overflows. */
  static final int MAX_GEOMETRY = 1 << 16;

  private final DeployModel m;
  private final String where;
  private final Map<String, Value> values = new HashMap<>();

  private DeployCheck(DeployModel m, String where) {
    this.m = m;
    this.where = where;
  }

  static void check(DeployModel m, String where) {
    new DeployCheck(m, where).run();
  }

  private void run() {
    // dpu-sim/README.md: version 1 is version 2 without batch_chunk, ELTWISE_MUL and extra outputs
    boolean v1 = m.getFormatVersion() == 1;
    if (v1 && m.getBatchChunk() != 0) throw corrupt("it has batch_chunk " + m.getBatchChunk() + ", which format version 1 does not have");
    if (m.getBatchChunk() < 0) throw corrupt("it has batch_chunk " + m.getBatchChunk());
    for (Value v : m.getValuesList()) {
      if (values.put(v.getName(), v) != null) throw corrupt("value '" + name(v.getName()) + "' is declared twice");
      value(v);
    }
    if (m.getInputsCount() == 0) throw corrupt("it has no inputs");
    if (m.getOutputsCount() == 0) throw corrupt("it has no outputs");
    Set<String> written = new HashSet<>();
    for (String in : m.getInputsList()) {
      Value v = values.get(in);
      if (v == null) throw corrupt("input '" + name(in) + "' has no value");
      if (v.getInteger()) throw corrupt("input '" + name(in) + "' is an integer value; graph inputs are float");
      if (!written.add(in)) throw corrupt("input '" + name(in) + "' is listed twice");
      // a fixed-batch export's inputs carry the batch it was exported with, the chunk it runs
      int batch = v.getShapeCount() == 0 ? 0 : v.getShape(0);
      if (m.getBatchChunk() > 0 && batch != m.getBatchChunk()) {
        throw corrupt("it runs in chunks of " + m.getBatchChunk() + " images but input '" + name(in) + "' has shape " + v.getShapeList());
      }
    }
    for (Layer l : m.getLayersList()) {
      String what = "layer '" + name(l.getName()) + "'";
      if (l.getOp() == Op.OP_UNSPECIFIED || l.getOp() == Op.UNRECOGNIZED) throw corrupt(what + " has no known op");
      if (l.getOp() == Op.UPSAMPLE) throw corrupt(what + " is an UPSAMPLE, which this version does not run");
      for (String in : l.getInputsList()) {
        if (!written.contains(in)) throw corrupt(what + " reads '" + name(in) + "' before it is written");
      }
      if (v1 && l.getOp() == Op.ELTWISE_MUL) throw corrupt(what + " is an ELTWISE_MUL, which format version 1 does not have");
      if (v1 && l.getExtraOutputsCount() > 0) throw corrupt(what + " has several outputs, which format version 1 does not have");
      if (l.getExtraOutputsCount() > 0 && l.getOp() != Op.CPU) throw corrupt(what + " is not a CPU layer but has several outputs");
      List<String> outs = outputs(l);
      Set<String> mine = new HashSet<>();
      for (String o : outs) {
        if (!values.containsKey(o)) throw corrupt(what + " writes '" + name(o) + "', which has no value");
        if (written.contains(o) || !mine.add(o)) throw corrupt(what + " writes '" + name(o) + "', which is already written");
      }
      if (l.getRounding() == DeployProto.Rounding.UNRECOGNIZED) throw corrupt(what + " has an unknown rounding");
      if (l.getActivation() == DeployProto.Activation.UNRECOGNIZED) throw corrupt(what + " has an unknown activation");
      layer(l, what);
      written.addAll(outs);
    }
    for (String o : m.getOutputsList()) if (!written.contains(o)) throw corrupt("output '" + name(o) + "' is never written");
  }

  /** Shape: the batch (-1 or fixed) first, every other dimension positive (-1 only where a CPU layer may leave it open). */
  private void value(Value v) {
    String what = "value '" + name(v.getName()) + "'";
    long n = 1;
    for (int i = 0; i < v.getShapeCount(); i++) {
      int d = v.getShape(i);
      if (d == -1) continue;
      if (d < 1) throw corrupt(what + " has dimension " + d + " in shape " + v.getShapeList());
      n *= d;
      if (n > Integer.MAX_VALUE) throw corrupt(what + " has more than 2^31 - 1 elements per image: shape " + v.getShapeList());
    }
    if (v.getInteger()) {
      if (v.getBits() < MIN_BITS || v.getBits() > MAX_BITS) {
        throw corrupt(what + " has bit width " + v.getBits() + " outside [" + MIN_BITS + ", " + MAX_BITS + "]");
      }
      fixPoint(what, v.getFixPoint());
    } else if (v.getBits() != 0 || v.getFixPoint() != 0) {
      throw corrupt(what + " is float but has bits " + v.getBits() + " and fix_point " + v.getFixPoint());
    }
  }

  private void fixPoint(String what, int fp) {
    if (fp < -MAX_FIX_POINT || fp > MAX_FIX_POINT) {
      throw corrupt(what + " has fix_point " + fp + " outside [" + -MAX_FIX_POINT + ", " + MAX_FIX_POINT + "]");
    }
  }

  private void layer(Layer l, String what) {
    switch (l.getOp()) {
      case QUANTIZE -> {
        Value in = floatInput(l, what, 0, 1), out = integerOutput(l, what);
        sameShape(what, in, out);
      }
      case CONV, FC -> weighted(l, what);
      case ELTWISE_ADD -> add(l, what);
      case ELTWISE_MUL -> mul(l, what);
      case MAX_POOL, AVG_POOL -> pool(l, what);
      case CONCAT -> concat(l, what);
      case RESHAPE -> {
        Value in = integerInput(l, what, 0, 1), out = integerOutput(l, what);
        sameGrid(what, in, out);
        if (perImage(what, in) != perImage(what, out)) {
          throw corrupt(what + " reshapes " + in.getShapeList() + " to " + out.getShapeList() + ", another number of elements");
        }
      }
      case RELU -> {
        Value in = integerInput(l, what, 0, 1), out = integerOutput(l, what);
        sameGrid(what, in, out);
        sameShape(what, in, out);
      }
      case CPU -> cpu(l, what);
      default -> throw corrupt(what + " has op " + l.getOp() + ", which this version does not run");
    }
  }

  /** CONV and FC: weights, bias, shifts and activation. */
  private void weighted(Layer l, String what) {
    boolean conv = l.getOp() == Op.CONV;
    Value in = integerInput(l, what, 0, 1), out = integerOutput(l, what);
    int[] ws = ints(l.getWeightShapeList());
    if (ws.length != (conv ? 4 : 2)) throw corrupt(what + " has weight shape " + l.getWeightShapeList());
    long n = 1;
    for (int d : ws) {
      if (d < 1) throw corrupt(what + " has weight shape " + l.getWeightShapeList());
      n *= d;
      if (n > Integer.MAX_VALUE) throw corrupt(what + " has weight shape " + l.getWeightShapeList() + " beyond 2^31 - 1 weights");
    }
    if (n != l.getWeights().size()) throw corrupt(what + " has " + l.getWeights().size() + " weights for shape " + l.getWeightShapeList());
    int mOut = ws[0];
    int[] x = concrete(what, in), y = concrete(what, out);
    if (conv) {
      if (x.length != 4 || y.length != 4) throw corrupt(what + " is a CONV between shapes " + in.getShapeList() + " and " + out.getShapeList());
      int group = l.getGroup();
      if (group < 1 || group > x[1] || x[1] % group != 0 || mOut % group != 0) {
        throw corrupt(what + " has group " + group + " for " + x[1] + " input and " + mOut + " output channels");
      }
      if (ws[1] != x[1] / group) throw corrupt(what + " has weight shape " + l.getWeightShapeList() + " for " + x[1] + " input channels in " + group + " groups");
      int[] k = window(l, what, x);
      if (k[0] != ws[2] || k[1] != ws[3]) throw corrupt(what + " has kernel " + l.getKernelList() + " and weight shape " + l.getWeightShapeList());
      expectShape(what, out, y, new int[] {x[0], mOut, k[2], k[3]});
    } else {
      if (x.length != 2 || y.length != 2 || ws[1] != x[1]) {
        throw corrupt(what + " is an FC with weights " + l.getWeightShapeList() + " from " + in.getShapeList() + " to " + out.getShapeList());
      }
      expectShape(what, out, y, new int[] {x[0], mOut});
    }
    fixPoint(what + " weight", l.getWeightFixPoint());
    // dpu-sim/README.md: shift_cut = in_fp + w_fp - out_fp in [0, 16]
    int cut = in.getFixPoint() + l.getWeightFixPoint() - out.getFixPoint();
    if (l.getShiftCut() != cut) {
      throw corrupt(what + " has shift_cut " + l.getShiftCut() + " but its fix_points give " + cut + " (in + weight - out)");
    }
    if (cut < 0 || cut > QuantParams.MAX_SHIFT_CUT) throw corrupt(what + " has shift_cut " + cut + " outside [0, " + QuantParams.MAX_SHIFT_CUT + "]");
    long maxBias = 0;
    int sb = 0;
    if (l.getHasBias()) {
      if (l.getBiasCount() != mOut) throw corrupt(what + " has " + l.getBiasCount() + " biases for " + mOut + " outputs");
      fixPoint(what + " bias", l.getBiasFixPoint());
      sb = in.getFixPoint() + l.getWeightFixPoint() - l.getBiasFixPoint();
      if (l.getShiftBias() != sb) {
        throw corrupt(what + " has shift_bias " + l.getShiftBias() + " but its fix_points give " + sb + " (in + weight - bias)");
      }
      // min(0, -(24 - (8 + shift_cut))) <= shift_bias <= 16
      int lo = QuantParams.minShiftBias(cut), hi = QuantParams.MAX_SHIFT_BIAS;
      if (sb < lo || sb > hi) throw corrupt(what + " has shift_bias " + sb + " outside [" + lo + ", " + hi + "]");
      biasBits(l, what);
      for (int b : l.getBiasList()) maxBias = Math.max(maxBias, Math.abs((long) b));
    } else if (l.getBiasCount() != 0 || l.getShiftBias() != 0 || l.getBiasFixPoint() != 0 || l.getBiasBits() != 0) {
      throw corrupt(what + " has no bias but bias fields set");
    }
    DeployProto.Activation act = l.getActivation();
    if (act == DeployProto.Activation.CLIP_ACT) {
      float lo = l.getActMin(), hi = l.getActMax();
      // an infinite limit is a one-sided clip (Clip without min or max); NaN is no limit at all
      if (Float.isNaN(lo) || Float.isNaN(hi) || lo == Float.POSITIVE_INFINITY || hi == Float.NEGATIVE_INFINITY || lo > hi) {
        throw corrupt(what + " clips to [" + lo + ", " + hi + "], not a range");
      }
    }
    byte[] w = l.getWeights().toByteArray();
    long maxAbsRow = 0;
    int k = w.length / mOut;
    for (int o = 0; o < mOut; o++) {
      long s = 0;
      for (int i = 0; i < k; i++) s += Math.abs(w[o * k + i]);
      maxAbsRow = Math.max(maxAbsRow, s);
    }
    boolean leaky = act == DeployProto.Activation.LEAKY_RELU;
    long bound = AccumulatorBound.of(maxAbsRow, in.getBits(), maxBias, sb, leaky);
    if (l.getAccumulatorBound() != bound) {
      throw corrupt(what + " has accumulator_bound " + l.getAccumulatorBound() + " but its weights and bias give " + bound);
    }
  }

  /** Biases are integers of bias_bits when it is recorded (0: written before it was). */
  private void biasBits(Layer l, String what) {
    int bits = l.getBiasBits();
    if (bits == 0) return;
    if (bits < MIN_BITS || bits > MAX_BIAS_BITS) {
      throw corrupt(what + " has bias bit width " + bits + " outside [" + MIN_BITS + ", " + MAX_BIAS_BITS + "]");
    }
    long lo = -(1L << (bits - 1)), hi = (1L << (bits - 1)) - 1;
    for (int b : l.getBiasList()) {
      if (b < lo || b > hi) throw corrupt(what + " has bias " + b + " outside its " + bits + " bits");
    }
  }

  /** ELTWISE_ADD: every input aligned to the finest grid, the sum to the output's (README: shift_read, shift_write <= 15). */
  private void add(Layer l, String what) {
    if (l.getInputsCount() < 2) throw corrupt(what + " adds " + l.getInputsCount() + " inputs");
    if (l.getInputShiftsCount() != l.getInputsCount()) throw corrupt(what + " has no shift per input");
    Value out = integerOutput(l, what);
    int finest = Integer.MIN_VALUE, lo = Integer.MAX_VALUE;
    for (int j = 0; j < l.getInputsCount(); j++) {
      Value in = integerInput(l, what, j, l.getInputsCount());
      sameShape(what, in, out);
      finest = Math.max(finest, in.getFixPoint());
      lo = Math.min(lo, in.getFixPoint());
    }
    for (int j = 0; j < l.getInputsCount(); j++) {
      int want = finest - values.get(l.getInputs(j)).getFixPoint();
      if (l.getInputShifts(j) != want) {
        throw corrupt(what + " shifts input " + j + " by " + l.getInputShifts(j) + " but the fix_points give " + want);
      }
    }
    if (finest - lo > QuantParams.MAX_SHIFT_READ) {
      throw corrupt(what + " has shift_read " + (finest - lo) + " outside [0, " + QuantParams.MAX_SHIFT_READ + "]");
    }
    int write = lo - out.getFixPoint();
    if (Math.abs(write) > QuantParams.MAX_SHIFT_WRITE) {
      throw corrupt(what + " has shift_write " + write + " outside [" + -QuantParams.MAX_SHIFT_WRITE + ", " + QuantParams.MAX_SHIFT_WRITE + "]");
    }
    int shift = finest - out.getFixPoint();
    if (l.getOutputShift() != shift) throw corrupt(what + " has output_shift " + l.getOutputShift() + " but the fix_points give " + shift);
  }

  /** ELTWISE_MUL: two inputs of the output's shape, the product shifted to the output's fix_point (README: output_shift). */
  private void mul(Layer l, String what) {
    Value a = integerInput(l, what, 0, 2), b = integerInput(l, what, 1, 2), out = integerOutput(l, what);
    sameShape(what, a, out);
    sameShape(what, b, out);
    if (l.getInputShiftsCount() != 0) throw corrupt(what + " multiplies but has input_shifts " + l.getInputShiftsList());
    int shift = a.getFixPoint() + b.getFixPoint() - out.getFixPoint();
    if (l.getOutputShift() != shift) {
      throw corrupt(what + " has output_shift " + l.getOutputShift() + " but the fix_points give " + shift + " (in + in - out)");
    }
    if (shift < MIN_MUL_SHIFT || shift > MAX_MUL_SHIFT) {
      throw corrupt(what + " has output_shift " + shift + " outside [" + MIN_MUL_SHIFT + ", " + MAX_MUL_SHIFT + "]");
    }
  }

  private void pool(Layer l, String what) {
    Value in = integerInput(l, what, 0, 1), out = integerOutput(l, what);
    int[] x = concrete(what, in), y = concrete(what, out);
    if (x.length != 4 || y.length != 4) throw corrupt(what + " pools between shapes " + in.getShapeList() + " and " + out.getShapeList());
    int[] k = window(l, what, x);
    // pooling may round its output size up (ceil_mode); the last window then reaches past the padding
    int[] floor = {x[0], x[1], k[2], k[3]}, ceil = {x[0], x[1], k[4], k[5]};
    if (!Arrays.equals(y, ceil)) expectShape(what, out, y, floor);
    if (l.getOp() == Op.MAX_POOL) {
      sameGrid(what, in, out);
      return;
    }
    long area = (long) k[0] * k[1];
    if (area > MAX_POOL_AREA) throw corrupt(what + " averages " + area + " taps, more than " + MAX_POOL_AREA);
    DpuAveragePool d = DpuAveragePool.of(k[0], k[1]);
    if (l.getMultiplier() != d.multiplier()) {
      throw corrupt(what + " has multiplier " + l.getMultiplier() + " but the DPU's for " + k[0] + "x" + k[1] + " is " + d.multiplier());
    }
    // README: avg_shift = shift + in_fp - out_fp
    int s = d.shift() + in.getFixPoint() - out.getFixPoint();
    if (l.getAvgShift() != s) throw corrupt(what + " has avg_shift " + l.getAvgShift() + " but its window and fix_points give " + s);
    if (s < MIN_AVG_SHIFT || s > MAX_AVG_SHIFT) throw corrupt(what + " has avg_shift " + s + " outside [" + MIN_AVG_SHIFT + ", " + MAX_AVG_SHIFT + "]");
  }

  private void concat(Layer l, String what) {
    if (l.getInputsCount() < 1) throw corrupt(what + " concatenates nothing");
    Value out = integerOutput(l, what);
    int[] y = concrete(what, out);
    int axis = l.getAxis();
    if (axis < 1 || axis >= y.length) throw corrupt(what + " concatenates on axis " + axis + " of a rank-" + y.length + " value");
    long total = 0;
    for (int j = 0; j < l.getInputsCount(); j++) {
      Value in = integerInput(l, what, j, l.getInputsCount());
      sameGrid(what, in, out);
      int[] x = concrete(what, in);
      if (x.length != y.length) throw corrupt(what + " concatenates " + in.getShapeList() + " into " + out.getShapeList());
      for (int d = 0; d < y.length; d++) {
        if (d != axis && x[d] != y[d]) throw corrupt(what + " concatenates " + in.getShapeList() + " into " + out.getShapeList());
      }
      total += x[axis];
    }
    if (total != y[axis]) throw corrupt(what + " concatenates " + total + " along axis " + axis + " into " + out.getShapeList());
  }

  /** CPU: the embedded model must import, with one input per layer input and one output per layer output, of the values' shapes. */
  private void cpu(Layer l, String what) {
    if (l.getOnnxModel().isEmpty()) throw corrupt(what + " is a CPU layer without its model");
    Graph g;
    Map<String, int[]> shapes;
    try {
      g = OnnxImporter.parse(l.getOnnxModel().toByteArray(), null, what).graph();
      shapes = ShapeInference.infer(g);
    } catch (GraphException e) {
      throw corrupt(what + "'s model: " + e.getMessage());
    }
    List<String> outs = outputs(l);
    if (g.inputs().size() != l.getInputsCount() || g.outputs().size() != outs.size()) {
      throw corrupt(what + " has " + l.getInputsCount() + " inputs and " + outs.size() + " outputs, its model "
          + g.inputs().size() + " inputs, " + g.outputs().size() + " outputs");
    }
    for (int j = 0; j < l.getInputsCount(); j++) {
      ValueInfo vi = g.inputs().get(j);
      Value in = values.get(l.getInputs(j));
      if (!fits(in.getShapeList(), vi.shape())) {
        throw corrupt(what + " feeds " + in.getShapeList() + " to its model's input of shape " + Arrays.toString(vi.shape()));
      }
    }
    for (int j = 0; j < outs.size(); j++) {
      Value out = values.get(outs.get(j));
      int[] made = shapes.get(g.outputs().get(j));
      if (made == null || !fits(out.getShapeList(), made)) {
        throw corrupt(what + "'s model makes shape " + Arrays.toString(made) + " for value " + out.getShapeList());
      }
    }
  }

  /** The values a layer writes: its output, then a CPU layer's extra outputs. */
  private static List<String> outputs(Layer l) {
    List<String> outs = new ArrayList<>(1 + l.getExtraOutputsCount());
    outs.add(l.getOutput());
    outs.addAll(l.getExtraOutputsList());
    return outs;
  }

  /** Equal shapes, a -1 on either side matching anything. */
  private static boolean fits(List<Integer> value, int[] model) {
    if (model == null || value.size() != model.length) return false;
    for (int i = 0; i < model.length; i++) {
      int a = value.get(i), b = model[i];
      if (a != b && a != -1 && b != -1) return false;
    }
    return true;
  }

  /**
   * Window geometry (kernel, strides, dilations, pads: top, left, bottom, right) over input
   * [n, c, h, w]: returns {kh, kw, oh, ow, and oh, ow rounded up as pooling's ceil_mode does}.
   */
  private int[] window(Layer l, String what, int[] x) {
    if (l.getKernelCount() != 2 || l.getStridesCount() != 2 || l.getPadsCount() != 4 || l.getDilationsCount() != 2) {
      throw corrupt(what + " has incomplete window geometry");
    }
    for (int v : l.getKernelList()) if (v < 1 || v > MAX_GEOMETRY) throw corrupt(what + " has kernel " + l.getKernelList());
    for (int v : l.getStridesList()) if (v < 1 || v > MAX_GEOMETRY) throw corrupt(what + " has strides " + l.getStridesList());
    for (int v : l.getDilationsList()) if (v < 1 || v > MAX_GEOMETRY) throw corrupt(what + " has dilations " + l.getDilationsList());
    for (int v : l.getPadsList()) if (v < 0 || v > MAX_GEOMETRY) throw corrupt(what + " has pads " + l.getPadsList());
    int[] r = new int[6];
    for (int a = 0; a < 2; a++) {
      long k = l.getKernel(a), span = (long) l.getDilations(a) * (k - 1) + 1, stride = l.getStrides(a);
      long padded = (long) x[2 + a] + l.getPads(a) + l.getPads(2 + a);
      if (span > padded) throw corrupt(what + " has a window of " + span + " over " + padded + " padded positions");
      r[a] = (int) k;
      r[2 + a] = (int) ((padded - span) / stride + 1);
      r[4 + a] = (int) ((padded - span + stride - 1) / stride + 1);
    }
    return r;
  }

  private Value floatInput(Layer l, String what, int j, int count) {
    Value v = input(l, what, j, count);
    if (v.getInteger()) throw corrupt(what + " reads integer '" + name(v.getName()) + "' where it needs floats");
    return v;
  }

  private Value integerInput(Layer l, String what, int j, int count) {
    Value v = input(l, what, j, count);
    if (!v.getInteger()) throw corrupt(what + " reads float '" + name(v.getName()) + "' where it needs integers");
    return v;
  }

  private Value input(Layer l, String what, int j, int count) {
    if (l.getInputsCount() != count) throw corrupt(what + " (" + l.getOp() + ") has " + l.getInputsCount() + " inputs, not " + count);
    return values.get(l.getInputs(j));
  }

  private Value integerOutput(Layer l, String what) {
    Value v = values.get(l.getOutput());
    if (!v.getInteger()) throw corrupt(what + " (" + l.getOp() + ") writes float '" + name(v.getName()) + "'");
    return v;
  }

  /** The same fix_point and bits: the op moves integers without requantizing them. */
  private void sameGrid(String what, Value in, Value out) {
    if (in.getFixPoint() != out.getFixPoint() || in.getBits() != out.getBits()) {
      throw corrupt(what + " moves " + in.getBits() + "-bit integers at fix_point " + in.getFixPoint() + " into a "
          + out.getBits() + "-bit value at fix_point " + out.getFixPoint());
    }
  }

  private void sameShape(String what, Value in, Value out) {
    if (!in.getShapeList().equals(out.getShapeList())) {
      throw corrupt(what + " maps shape " + in.getShapeList() + " to " + out.getShapeList());
    }
  }

  /** The shape with only the batch open (a DPU layer's value). */
  private int[] concrete(String what, Value v) {
    int[] s = ints(v.getShapeList());
    if (s.length == 0) throw corrupt(what + " has a scalar value '" + name(v.getName()) + "'");
    for (int i = 1; i < s.length; i++) {
      if (s[i] < 1) throw corrupt(what + " has value '" + name(v.getName()) + "' of open shape " + v.getShapeList());
    }
    return s;
  }

  private long perImage(String what, Value v) {
    int[] s = concrete(what, v);
    long n = 1;
    for (int i = 1; i < s.length; i++) n *= s[i];
    return n;
  }

  private void expectShape(String what, Value out, int[] have, int[] want) {
    if (!Arrays.equals(have, want)) {
      throw corrupt(what + " writes shape " + out.getShapeList() + " where its inputs and geometry give " + Arrays.toString(want));
    }
  }

  private static int[] ints(List<Integer> l) {
    return l.stream().mapToInt(Integer::intValue).toArray();
  }

  private static String name(String s) {
    return DeployFormat.printable(s);
  }

  private DeployException corrupt(String what) {
    return new DeployException(where + " is a corrupt deploy model: " + what);
  }
}

package io.qspark.kernels.quant;

import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.util.List;

/**
 * The quantizers of one weight or bias: a single one for the whole tensor (the DPU's), or one
 * per output channel, the slices along {@code axis}.
 *
 * @param axis the channel axis, or -1 for one quantizer for the whole tensor
 */
public record ParamQuant(int axis, List<FixPoint> channels) implements java.io.Serializable {
  public ParamQuant {
    channels = List.copyOf(channels);
    if (channels.isEmpty() || axis < 0 && channels.size() != 1) {
      throw new IllegalArgumentException(channels.size() + " quantizers for axis " + axis);
    }
  }

  public static ParamQuant of(FixPoint q) {
    return new ParamQuant(-1, List.of(q));
  }

  public boolean perChannel() {
    return axis >= 0;
  }

  /** The tensor's one quantizer; a per-channel parameter has none. */
  public FixPoint perTensor() {
    if (perChannel()) throw new IllegalStateException("per-channel quantizers (axis " + axis + ")");
    return channels.get(0);
  }

  public FixPoint channel(int c) {
    return channels.get(perChannel() ? c : 0);
  }

  public int bits() {
    return channels.get(0).bits();
  }

  public boolean powerOfTwo() {
    return channels.get(0).powerOfTwo();
  }

  /** The output-channel axis of a node's weight (inference-graph layout), or -1 where there is none. */
  public static int channelAxis(Node n, int weightRank) {
    switch (n.opType()) {
      case "Conv":
        return 0; // [O, I/g, kh, kw]
      case "ConvTranspose":
        // [I, O/g, kh, kw]: the output channels are one axis only without groups
        return n.attributes().getInt("group", 1) == 1 ? 1 : -1;
      case "Gemm":
        return n.attributes().getInt("transB", 0) == 1 ? 0 : 1; // B is [N, K] or [K, N]
      case "MatMul":
        return weightRank >= 2 ? weightRank - 1 : -1; // B is [..., K, N]
      default:
        return -1;
    }
  }

  /** The fake-quantized values of t. */
  public Tensor fake(Tensor t) {
    float[] v = new float[t.size()];
    forEachRun(t.shape(), (c, from, to) -> FakeQuant.apply(channel(c), t.data(), v, from, to));
    return Tensor.of(v, t.shape());
  }

  /** The integers of t. */
  public int[] quantize(Tensor t) {
    int[] q = new int[t.size()];
    forEachRun(t.shape(), (c, from, to) -> FakeQuant.toIntegers(channel(c), t.data(), q, from, to));
    return q;
  }

  /** The values of t split by channel along axis (axis -1: one slice, all of them), in order. */
  public static float[][] split(Tensor t, int axis) {
    if (axis < 0) return new float[][] {t.data()};
    int[] shape = t.shape();
    int n = shape[axis], inner = 1;
    for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
    float[][] r = new float[n][t.size() / n];
    int[] fill = new int[n];
    float[] x = t.data();
    for (int base = 0, c = 0; base < x.length; base += inner, c = (c + 1) % n) {
      System.arraycopy(x, base, r[c], fill[c], inner);
      fill[c] += inner;
    }
    return r;
  }

  private interface Run {
    void of(int channel, int from, int to);
  }

  /** Visits the tensor as contiguous runs of one channel each, in order. */
  private void forEachRun(int[] shape, Run r) {
    int size = (int) Tensor.size(shape);
    if (!perChannel()) {
      r.of(0, 0, size);
      return;
    }
    if (axis >= shape.length || shape[axis] != channels.size()) {
      throw new IllegalArgumentException(channels.size() + " channel quantizers for axis " + axis + " of shape "
          + java.util.Arrays.toString(shape));
    }
    int inner = 1;
    for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
    int n = channels.size();
    for (int base = 0, c = 0; base < size; base += inner, c = (c + 1) % n) r.of(c, base, base + inner);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * ONNX Cast to the element type {@code to}. qspark holds float, float16 and double as float32
 * and every integer and bool type as int64 ({@link Tensor}), so a cast converts between those
 * two and narrows integers to the target's width: float to integer truncates toward zero (C's
 * conversion, which the specification follows), integers wrap to the width, bool is x != 0.
 * Exporters cast shape vectors (int64 to float and back) around Resize sizes.
 */
public final class Cast implements Op {
  /** TensorProto.DataType numbers, as the attribute gives them. */
  private static final int FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7, BOOL = 9,
      FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, BFLOAT16 = 16;

  private final int to;

  public Cast(Attributes a) {
    if (!a.has("to")) throw new OpException("Cast: the 'to' attribute is required");
    this.to = (int) a.getInt("to", 0);
    switch (to) {
      case FLOAT: case DOUBLE: case UINT8: case INT8: case UINT16: case INT16: case INT32: case INT64: case BOOL:
      case UINT32: case UINT64:
        break;
      case FLOAT16: case BFLOAT16:
        throw new OpException("Cast: to " + (to == FLOAT16 ? "float16" : "bfloat16")
            + " is not supported (qspark computes in float32)");
      default:
        throw new OpException("Cast: to element type " + to + " is not supported (float, double, integers, bool)");
    }
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    if (to == FLOAT || to == DOUBLE) {
      return new Tensor[] {x.isFloat() ? x : Tensor.of(x.asFloats(), x.shape())};
    }
    long[] y = new long[x.size()];
    if (x.isFloat()) {
      float[] f = x.data();
      for (int i = 0; i < y.length; i++) y[i] = to == BOOL ? (f[i] != 0f ? 1 : 0) : narrow((long) f[i]);
    } else {
      long[] l = x.longs();
      for (int i = 0; i < y.length; i++) y[i] = to == BOOL ? (l[i] != 0 ? 1 : 0) : narrow(l[i]);
    }
    return new Tensor[] {Tensor.ofLongs(y, x.shape())};
  }

  /** Two's complement wrap to the target's width. */
  private long narrow(long v) {
    switch (to) {
      case INT8: return (byte) v;
      case UINT8: return v & 0xffL;
      case INT16: return (short) v;
      case UINT16: return v & 0xffffL;
      case INT32: return (int) v;
      case UINT32: return v & 0xffffffffL;
      default: return v; // INT64, UINT64 (held as its two's complement bits)
    }
  }

  @Override
  public String describe() {
    return "to=" + to;
  }
}

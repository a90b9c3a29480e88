package io.qspark.kernels.onnx;

import com.google.protobuf.ByteString;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto.DataType;
import io.qspark.kernels.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * TensorProto to and from {@link Tensor}. Float types (float32, float16, double) become FLOAT,
 * integer and bool types INT64; raw_data is little-endian as the ONNX spec fixes it.
 */
public final class OnnxTensors {
  private OnnxTensors() {}

  /** Decodes a tensor whose bytes are in the proto (external data already resolved into raw). */
  public static Tensor decode(TensorProto t, ByteString raw) {
    int[] shape = new int[t.getDimsCount()];
    for (int i = 0; i < shape.length; i++) {
      long d = t.getDims(i);
      if (d < 0 || d > Integer.MAX_VALUE) throw new GraphException("tensor '" + t.getName() + "' has dimension " + d);
      shape[i] = (int) d;
    }
    long n = 1;
    for (int d : shape) n *= d;
    if (n > Integer.MAX_VALUE) throw new GraphException("tensor '" + t.getName() + "' is too large");
    int count = (int) n;
    DataType type = DataType.forNumber(t.getDataType());
    if (type == null) throw new GraphException("tensor '" + t.getName() + "' has unknown data type " + t.getDataType());
    boolean hasRaw = raw != null && !raw.isEmpty();
    // slice: a ByteString may be a view whose buffer starts at a non-zero position, and the
    // absolute getters below index from the buffer's start, not its position
    ByteBuffer rb = hasRaw ? raw.asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN) : null;
    int width = width(type);
    if (hasRaw && (long) count * width != raw.size()) {
      throw new GraphException("tensor '" + t.getName() + "': raw data has " + raw.size()
          + " bytes, shape " + Tensor.shapeString(shape) + " of " + type + " needs " + (long) count * width);
    }
    switch (type) {
      case FLOAT: {
        float[] f = new float[count];
        if (hasRaw) rb.asFloatBuffer().get(f);
        else copy(t.getFloatDataCount(), count, t, () -> { for (int i = 0; i < count; i++) f[i] = t.getFloatData(i); });
        return Tensor.of(f, shape);
      }
      case DOUBLE: {
        float[] f = new float[count];
        if (hasRaw) for (int i = 0; i < count; i++) f[i] = (float) rb.getDouble(i * 8);
        else copy(t.getDoubleDataCount(), count, t, () -> { for (int i = 0; i < count; i++) f[i] = (float) t.getDoubleData(i); });
        return Tensor.of(f, shape);
      }
      case FLOAT16: {
        float[] f = new float[count];
        if (hasRaw) for (int i = 0; i < count; i++) f[i] = halfToFloat(rb.getShort(i * 2));
        else copy(t.getInt32DataCount(), count, t, () -> { for (int i = 0; i < count; i++) f[i] = halfToFloat((short) t.getInt32Data(i)); });
        return Tensor.of(f, shape);
      }
      case INT64: {
        long[] l = new long[count];
        if (hasRaw) rb.asLongBuffer().get(l);
        else copy(t.getInt64DataCount(), count, t, () -> { for (int i = 0; i < count; i++) l[i] = t.getInt64Data(i); });
        return Tensor.ofLongs(l, shape);
      }
      case INT32: case INT16: case INT8: case UINT8: case UINT16: case BOOL: {
        long[] l = new long[count];
        if (hasRaw) {
          for (int i = 0; i < count; i++) {
            switch (type) {
              case INT32: l[i] = rb.getInt(i * 4); break;
              case INT16: l[i] = rb.getShort(i * 2); break;
              case UINT16: l[i] = rb.getShort(i * 2) & 0xffff; break;
              case INT8: l[i] = rb.get(i); break;
              default: l[i] = rb.get(i) & 0xff; break;
            }
          }
        } else {
          copy(t.getInt32DataCount(), count, t, () -> { for (int i = 0; i < count; i++) l[i] = t.getInt32Data(i); });
        }
        return Tensor.ofLongs(l, shape);
      }
      default:
        throw new GraphException("tensor '" + t.getName() + "' has unsupported data type " + type);
    }
  }

  private static void copy(int have, int want, TensorProto t, Runnable fill) {
    if (have != want) {
      throw new GraphException("tensor '" + t.getName() + "' holds " + have + " values, its shape needs " + want);
    }
    fill.run();
  }

  /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    if (exp == 0) {
      float v = mant * 0x1p-24f; // subnormal: mant * 2^-24, exact in float
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  static int width(DataType type) {
    switch (type) {
      case DOUBLE: case INT64: case UINT64: return 8;
      case FLOAT: case INT32: case UINT32: return 4;
      case FLOAT16: case BFLOAT16: case INT16: case UINT16: return 2;
      default: return 1;
    }
  }

  /** FLOAT as float32 raw data, INT64 as int64 raw data. */
  public static TensorProto encode(String name, Tensor t) {
    TensorProto.Builder b = TensorProto.newBuilder().setName(name);
    for (int d : t.shape()) b.addDims(d);
    ByteBuffer bb;
    if (t.isFloat()) {
      b.setDataType(DataType.FLOAT_VALUE);
      bb = ByteBuffer.allocate(t.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
      bb.asFloatBuffer().put(t.data());
    } else {
      b.setDataType(DataType.INT64_VALUE);
      bb = ByteBuffer.allocate(t.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
      bb.asLongBuffer().put(t.longs());
    }
    return b.setRawData(ByteString.copyFrom(bb.array())).build();
  }
}

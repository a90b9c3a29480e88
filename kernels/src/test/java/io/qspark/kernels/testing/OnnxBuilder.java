package io.qspark.kernels.testing;

import com.google.protobuf.ByteString;
import io.qspark.kernels.onnx.proto.OnnxProto.AttributeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorShapeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TypeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Writes ONNX models node by node as converters emit them (paddle2onnx, tf2onnx, older PyTorch):
 * a chosen opset, every weight a Constant node (no initializers), inputs with named dynamic
 * dimensions. Independent of qspark's exporter, so a test of the importer does not read what
 * qspark itself wrote.
 */
public final class OnnxBuilder {
  private final GraphProto.Builder g = GraphProto.newBuilder().setName("converted");
  private final long opset;
  private final Random rnd;
  private int count;

  public OnnxBuilder(long opset, long seed) {
    this.opset = opset;
    this.rnd = new Random(seed);
  }

  /** A float input; a String dimension is dynamic (dim_param), an Integer fixed. */
  public OnnxBuilder input(String name, Object... dims) {
    g.addInput(value(name, dims));
    return this;
  }

  public OnnxBuilder output(String name) {
    g.addOutput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
    return this;
  }

  private static ValueInfoProto value(String name, Object... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      s.addDim(d instanceof String p ? TensorShapeProto.Dimension.newBuilder().setDimParam(p)
          : TensorShapeProto.Dimension.newBuilder().setDimValue(((Number) d).longValue()));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
        TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
  }

  /** A Constant node holding random weights ~ N(0, scale²); returns its output. */
  public String weights(float scale, int... shape) {
    int n = 1;
    for (int d : shape) n *= d;
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian() * scale;
    return constant(v, shape);
  }

  /** A Constant node of floats. */
  public String constant(float[] v, int... shape) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) b.putFloat(x);
    return constantNode(TensorProto.DataType.FLOAT_VALUE, b.array(), shape);
  }

  /** A Constant node of int64 values (1-D). */
  public String longs(long... v) {
    ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) b.putLong(x);
    return constantNode(TensorProto.DataType.INT64_VALUE, b.array(), v.length);
  }

  /** A Constant node of one int64 (a scalar, as Gather indices for one dimension). */
  public String scalar(long v) {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
    return constantNode(TensorProto.DataType.INT64_VALUE, b.array());
  }

  private String constantNode(int type, byte[] raw, int... shape) {
    String out = "const" + (count++);
    TensorProto.Builder t = TensorProto.newBuilder().setDataType(type).setRawData(ByteString.copyFrom(raw));
    for (int d : shape) t.addDims(d);
    g.addNode(NodeProto.newBuilder().setName(out).setOpType("Constant").addOutput(out).addAttribute(
        AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(t)));
    return out;
  }

  /** A node with one output named after it; attributes as name, value pairs (Long, Float, String, long[]). */
  public String op(String opType, String[] inputs, Object... attrs) {
    return opN(opType, inputs, 1, attrs)[0];
  }

  /** A node with n outputs. */
  public String[] opN(String opType, String[] inputs, int n, Object... attrs) {
    String name = opType.toLowerCase() + (count++);
    NodeProto.Builder b = NodeProto.newBuilder().setName(name).setOpType(opType);
    for (String in : inputs) b.addInput(in);
    String[] outs = new String[n];
    for (int i = 0; i < n; i++) {
      outs[i] = n == 1 ? name : name + ":" + i;
      b.addOutput(outs[i]);
    }
    for (int i = 0; i < attrs.length; i += 2) {
      AttributeProto.Builder a = AttributeProto.newBuilder().setName((String) attrs[i]);
      Object v = attrs[i + 1];
      if (v instanceof Long l) a.setType(AttributeProto.AttributeType.INT).setI(l);
      else if (v instanceof Float f) a.setType(AttributeProto.AttributeType.FLOAT).setF(f);
      else if (v instanceof String s) a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(s));
      else if (v instanceof long[] ls) {
        a.setType(AttributeProto.AttributeType.INTS);
        for (long x : ls) a.addInts(x);
      } else {
        throw new IllegalArgumentException(String.valueOf(v));
      }
      b.addAttribute(a);
    }
    g.addNode(b);
    return outs;
  }

  public static String[] in(String... names) {
    return names;
  }

  /** A conv with random weights and bias, He-scaled, stride s, pad k/2. */
  public String conv(String x, int in, int out, int k, int s) {
    String w = weights((float) Math.sqrt(2.0 / (in * k * k)), out, in, k, k);
    String b = weights(0.1f, out);
    return op("Conv", in(x, w, b), "kernel_shape", new long[] {k, k}, "strides", new long[] {s, s},
        "pads", new long[] {k / 2, k / 2, k / 2, k / 2});
  }

  public ModelProto build() {
    return ModelProto.newBuilder().setIrVersion(opset <= 11 ? 6 : 8).setProducerName("converter-shaped test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g).build();
  }

  public Path write(Path file) throws IOException {
    Files.write(file, build().toByteArray());
    return file;
  }
}

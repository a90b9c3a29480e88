package io.qspark.job;

import com.google.protobuf.ByteString;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.qspark.kernels.onnx.proto.OnnxProto.StringStringEntryProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorShapeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TypeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small ONNX models, broken on purpose, written with the generated protobuf builders. */
final class BadModels {
  private BadModels() {}

  /** A float tensor value; -1 is the batch dimension. */
  static ValueInfoProto value(String name, long... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : dims) {
      s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
          : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s)))
        .build();
  }

  static NodeProto node(String name, String op, String[] inputs, String... outputs) {
    NodeProto.Builder n = NodeProto.newBuilder().setName(name).setOpType(op);
    for (String i : inputs) n.addInput(i);
    for (String o : outputs) n.addOutput(o);
    return n.build();
  }

  static TensorProto weights(String name, long... dims) {
    int n = 1;
    for (long d : dims) n *= (int) d;
    ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) b.putFloat(0.01f * i);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(b.array()));
    for (long d : dims) t.addDims(d);
    return t.build();
  }

  static TensorProto external(String name, String location, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
    for (long d : dims) t.addDims(d);
    return t.build();
  }

  static Path write(Path file, GraphProto.Builder graph) throws IOException {
    ModelProto m = ModelProto.newBuilder().setIrVersion(8).setProducerName("qspark-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
        .setGraph(graph.setName("bad")).build();
    Files.write(file, m.toByteArray());
    return file;
  }

  /** x [N,1,4,4] -> Conv(W [2,1,3,3]) -> Flatten -> y: a valid skeleton to break. */
  static GraphProto.Builder convNet(TensorProto w) {
    GraphProto.Builder g = GraphProto.newBuilder()
        .addInput(value("x", -1, 1, 4, 4))
        .addNode(node("conv", "Conv", new String[] {"x", "W"}, "c"))
        .addNode(node("flat", "Flatten", new String[] {"c"}, "y"))
        .addOutput(value("y", -1, 8));
    if (w != null) g.addInitializer(w);
    return g;
  }
}

package io.qspark.kernels.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.onnx.proto.OnnxProto.AttributeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model file as one blob: tensors stored in external files are pulled into the protobuf, so
 * the model can be shipped somewhere that cannot see its folder (Spark executors). External
 * paths are resolved by the importer's own rules, so the same files are refused.
 */
public final class SelfContained {
  private SelfContained() {}

  /** The file's bytes, unchanged when no tensor is external (the common case). */
  public static byte[] bytes(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new GraphException("cannot read model file " + file + ": " + e.getMessage());
    }
    ModelProto model;
    try {
      model = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      return bytes; // not ours to judge here: OnnxImporter reports malformed files
    }
    if (!hasExternal(model.getGraph())) return bytes;
    Path dir = file.toAbsolutePath().getParent();
    ModelProto.Builder b = model.toBuilder();
    GraphProto.Builder g = b.getGraphBuilder();
    for (TensorProto.Builder t : g.getInitializerBuilderList()) inline(t, dir);
    for (NodeProto.Builder n : g.getNodeBuilderList()) {
      for (AttributeProto.Builder a : n.getAttributeBuilderList()) {
        if (a.hasT()) inline(a.getTBuilder(), dir);
      }
    }
    return b.build().toByteArray();
  }

  private static boolean hasExternal(GraphProto g) {
    for (TensorProto t : g.getInitializerList()) if (isExternal(t)) return true;
    for (NodeProto n : g.getNodeList()) {
      for (AttributeProto a : n.getAttributeList()) if (a.hasT() && isExternal(a.getT())) return true;
    }
    return false;
  }

  private static boolean isExternal(TensorProto t) {
    return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
  }

  private static void inline(TensorProto.Builder t, Path dir) {
    if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) return;
    t.setRawData(OnnxImporter.data(t.build(), dir));
    t.clearExternalData();
    t.setDataLocation(TensorProto.DataLocation.DEFAULT);
  }
}

package io.qspark.kernels.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.onnx.proto.OnnxProto.AttributeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.qspark.kernels.onnx.proto.OnnxProto.StringStringEntryProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorShapeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads an ONNX ModelProto into a {@link Graph}; everything ONNX-specific stays in this package. */
public final class OnnxImporter {
  public static final int MIN_OPSET = 7;
  public static final int MAX_OPSET = 18;

  private OnnxImporter() {}

  /** The model's default-domain opset, from a parsed file (for reports). */
  public record Imported(Graph graph, long opset, String producer) {}

  public static Imported load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new GraphException("model file not found: " + file);
    } catch (IOException e) {
      throw new GraphException("cannot read model file " + file + ": " + e.getMessage());
    }
    Path dir = file.toAbsolutePath().getParent();
    return parse(bytes, dir, file.toString());
  }

  /**
   * @param baseDir the folder external data paths are relative to; null for a model held only
   *     in memory, which then may not use external data
   */
  public static Imported parse(byte[] bytes, Path baseDir, String displayName) {
    if (bytes.length == 0) throw new GraphException(displayName + " is empty, not an ONNX model");
    ModelProto model;
    try {
      model = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      if (Truncation.looksTruncated(bytes)) throw truncated(displayName, bytes);
      throw new GraphException(displayName + " is not an ONNX model (or is damaged): it does not"
          + " parse as an ONNX ModelProto (" + e.getMessage() + ")");
    }
    if (!model.hasGraph() && Truncation.looksTruncated(bytes)) throw truncated(displayName, bytes);
    if (!model.hasGraph() || model.getIrVersion() <= 0 || model.getGraph().getNodeCount() == 0) {
      throw new GraphException(displayName + " is not an ONNX model: it has no ir_version or no graph"
          + " nodes");
    }
    long opset = opset(model, displayName);
    try {
      Graph g = graph(model.getGraph(), baseDir, displayName, opset);
      return new Imported(g, opset, model.getProducerName() + " " + model.getProducerVersion());
    } catch (GraphException e) {
      throw e.getMessage().startsWith(displayName) ? e
          : new GraphException(displayName + ": " + e.getMessage(), e);
    }
  }

  private static GraphException truncated(String displayName, byte[] bytes) {
    return new GraphException(displayName + " is truncated: its " + bytes.length
        + " bytes end in the middle of the model (an interrupted copy or download?)");
  }

  /** The default-domain opset, checked against the range qspark's ops implement. */
  private static long opset(ModelProto model, String displayName) {
    long opset = -1;
    for (OperatorSetIdProto o : model.getOpsetImportList()) {
      if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) opset = o.getVersion();
    }
    if (opset < 0 && model.getOpsetImportCount() == 0 && model.getIrVersion() >= 3) {
      // IR 3 made opset_import mandatory; a writer emits it after the graph, so a file cut
      // exactly at the graph's end parses cleanly but lacks it
      throw new GraphException(displayName + " declares IR version " + model.getIrVersion()
          + " but has no opset_import; the file may be truncated");
    }
    if (opset < 0) opset = 1; // IR < 3 models carry no opset_import: the first opset
    if (opset > MAX_OPSET) {
      throw new GraphException(displayName + " uses ONNX opset " + opset + "; qspark supports "
          + MIN_OPSET + " to " + MAX_OPSET + " (re-export with opset_version=" + MAX_OPSET + ")");
    }
    if (opset < MIN_OPSET) {
      throw new GraphException(displayName + " uses ONNX opset " + opset + "; qspark supports "
          + MIN_OPSET + " to " + MAX_OPSET + " (convert it with onnx.version_converter)");
    }
    return opset;
  }

  private static Graph graph(GraphProto gp, Path baseDir, String displayName, long opset) {
    // a map or list would silently keep one of two same-named entries; the file is ambiguous
    Map<String, Tensor> inits = new LinkedHashMap<>();
    for (TensorProto t : gp.getInitializerList()) {
      requireUnique(inits.containsKey(t.getName()), "initializer", t.getName());
      inits.put(t.getName(), OnnxTensors.decode(t, data(t, baseDir)));
    }
    List<ValueInfo> inputs = new ArrayList<>();
    Set<String> inputNames = new HashSet<>();
    for (ValueInfoProto v : gp.getInputList()) {
      requireUnique(!inputNames.add(v.getName()), "graph input", v.getName());
      if (!inits.containsKey(v.getName())) inputs.add(new ValueInfo(v.getName(), shape(v)));
    }
    List<String> outputs = new ArrayList<>();
    for (ValueInfoProto v : gp.getOutputList()) {
      requireUnique(outputs.contains(v.getName()), "graph output", v.getName());
      outputs.add(v.getName());
    }
    List<Node> nodes = new ArrayList<>();
    for (NodeProto n : gp.getNodeList()) {
      Map<String, Object> attrs = new LinkedHashMap<>();
      for (AttributeProto a : n.getAttributeList()) attrs.put(a.getName(), attribute(a, baseDir, n));
      if (n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx")) attrs.put(Attributes.OPSET, opset);
      nodes.add(new Node(n.getName(), n.getOpType(), n.getDomain(), n.getInputList(),
          n.getOutputList(), new Attributes(attrs)));
    }
    return new Graph(gp.getName().isEmpty() ? displayName : gp.getName(), inputs, outputs, inits, nodes);
  }

  private static void requireUnique(boolean duplicate, String what, String name) {
    if (duplicate) throw new GraphException(what + " '" + name + "' is listed twice");
  }

  private static int[] shape(ValueInfoProto v) {
    if (!v.hasType() || !v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) {
      return new int[0];
    }
    TensorShapeProto s = v.getType().getTensorType().getShape();
    int[] r = new int[s.getDimCount()];
    for (int i = 0; i < r.length; i++) {
      TensorShapeProto.Dimension d = s.getDim(i);
      r[i] = d.hasDimValue() && d.getDimValue() > 0 ? (int) d.getDimValue() : -1;
    }
    return r;
  }

  private static Object attribute(AttributeProto a, Path baseDir, NodeProto n) {
    switch (a.getType()) {
      case FLOAT: return a.getF();
      case INT: return a.getI();
      case STRING: return a.getS().toStringUtf8();
      case TENSOR: return OnnxTensors.decode(a.getT(), data(a.getT(), baseDir));
      case FLOATS: {
        float[] f = new float[a.getFloatsCount()];
        for (int i = 0; i < f.length; i++) f[i] = a.getFloats(i);
        return f;
      }
      case INTS: {
        long[] l = new long[a.getIntsCount()];
        for (int i = 0; i < l.length; i++) l[i] = a.getInts(i);
        return l;
      }
      case STRINGS: {
        String[] s = new String[a.getStringsCount()];
        for (int i = 0; i < s.length; i++) s[i] = a.getStrings(i).toStringUtf8();
        return s;
      }
      default:
        // subgraphs and sparse tensors belong to ops qspark does not run; the op check names them
        return a.getType().name();
    }
  }

  /** The tensor's bytes: raw_data, or its external file resolved safely inside the model's folder. */
  static ByteString data(TensorProto t, Path baseDir) {
    if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) return t.getRawData();
    String location = null;
    long offset = 0;
    long length = -1;
    for (StringStringEntryProto e : t.getExternalDataList()) {
      switch (e.getKey()) {
        case "location": location = e.getValue(); break;
        case "offset": offset = parseLong(e.getValue(), t); break;
        case "length": length = parseLong(e.getValue(), t); break;
        default: break;
      }
    }
    Path file = ExternalData.resolve(baseDir, location, t.getName());
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long size = f.length();
      long n = length >= 0 ? length : size - offset;
      if (offset < 0 || n < 0 || offset + n > size) {
        throw new GraphException("initializer '" + t.getName() + "': external data " + location
            + " has " + size + " bytes, offset " + offset + " + length " + n + " runs past its end");
      }
      if (n > Integer.MAX_VALUE) throw new GraphException("initializer '" + t.getName() + "' is over 2 GiB");
      byte[] b = new byte[(int) n];
      f.seek(offset);
      f.readFully(b);
      return ByteString.copyFrom(b);
    } catch (IOException e) {
      throw new GraphException("initializer '" + t.getName() + "': cannot read external data "
          + location + ": " + e.getMessage());
    }
  }

  private static long parseLong(String s, TensorProto t) {
    long v;
    try {
      v = Long.parseLong(s);
    } catch (NumberFormatException e) {
      v = -1;
    }
    if (v < 0) {
      throw new GraphException("initializer '" + t.getName() + "': external data offset or length '"
          + s + "' is not a non-negative number");
    }
    return v;
  }
}

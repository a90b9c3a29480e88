package io.qspark.kernels.caffe;

import com.google.protobuf.InvalidProtocolBufferException;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobProto;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobShape;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetStateRule;
import io.qspark.kernels.caffe.proto.CaffeProto.Phase;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a Caffe deploy prototxt and its caffemodel into the same {@link Graph} IR the ONNX
 * importer produces (ONNX op types), so everything downstream takes a Caffe model unchanged.
 * Blobs are versioned: an in-place layer (top == bottom) makes a new value, so the graph stays
 * single-assignment. Layers are matched to their weights by name, as Caffe's CopyTrainedLayersFrom.
 */
public final class CaffeImporter {
  private CaffeImporter() {}

  /**
   * One Caffe layer of the net as imported: the float graph values it reads and writes (a
   * BatchNorm and the Scale after it share one node, hence one output value).
   */
  public record Layer(LayerParameter param, List<String> inputs, List<String> outputs) {
    public String name() { return param.getName(); }

    public String type() { return param.getType(); }
  }

  /**
   * @param net the deploy net in the current (`layer`) form without weights, for writing it back
   * @param layers the layers that made graph nodes, in net order
   * @param ignored prototxt fields qspark's schema does not model, skipped ("line:col: field")
   * @param passedThrough layers kept in {@code net} but not computed (see {@link #SSD_SOFTWARE}),
   *     in net order; empty unless the import asked for them
   */
  public record Imported(Graph graph, NetParameter net, List<Layer> layers, List<String> ignored,
      List<LayerParameter> passedThrough) {
    public Imported {
      layers = List.copyOf(layers);
      ignored = List.copyOf(ignored);
      passedThrough = List.copyOf(passedThrough);
    }
  }

  /**
   * Layer types of SSD-style nets that CHaiDNN runs in software (Xilinx/CHaiDNN
   * software/xtract/caffe_layer_map.hpp: PriorBox, DetectionOutput as its NMS, ArgMax) and
   * qspark does not compute: priors depend only on shapes, NMS and ArgMax end the net after the
   * last quantized value. An import for CHaiDNN ({@link #loadForChaiDnn}) keeps them, and every
   * layer reading their tops, in the net unchanged and out of the graph; the blobs they read
   * become graph outputs. Any other import lists them with the unsupported layer types.
   */
  public static final Set<String> SSD_SOFTWARE = Set.of("PriorBox", "DetectionOutput", "ArgMax");

  /**
   * The imported graph as ONNX bytes (opset 13, whose Softmax is Caffe's: one axis), so a Caffe
   * model travels to executors and into calibration folders exactly as an ONNX model does.
   */
  public static byte[] onnxBytes(Imported imp) {
    return io.qspark.kernels.onnx.OnnxExporter.export(imp.graph(), 13, Map.of(), Map.of(), java.util.List.of()).toByteArray();
  }

  /** Caffe's convention: deploy.prototxt's weights are the .caffemodel of the same base name. */
  public static Path weightsBeside(Path prototxt) {
    String n = prototxt.getFileName().toString();
    String base = n.endsWith(".prototxt") ? n.substring(0, n.length() - ".prototxt".length()) : n;
    return prototxt.resolveSibling(base + ".caffemodel");
  }

  public static boolean isPrototxt(Path p) {
    return p.getFileName() != null && p.getFileName().toString().endsWith(".prototxt");
  }

  public static Imported load(Path prototxt, Path caffemodel) {
    return load(prototxt, caffemodel, null);
  }

  /** @param dataDims C,H,W of a Data layer's images (its shape is not in the prototxt), or null */
  public static Imported load(Path prototxt, Path caffemodel, int[] dataDims) {
    return load(prototxt, caffemodel, dataDims, Set.of());
  }

  /**
   * The net as CHaiDNN reads it: {@link #SSD_SOFTWARE} layers (and what reads their tops) passed
   * through, not computed.
   */
  public static Imported loadForChaiDnn(Path prototxt, Path caffemodel, int[] dataDims) {
    return load(prototxt, caffemodel, dataDims, SSD_SOFTWARE);
  }

  private static Imported load(Path prototxt, Path caffemodel, int[] dataDims, Set<String> passThrough) {
    String text = new String(read(prototxt, "prototxt"), StandardCharsets.UTF_8);
    byte[] weights = read(caffemodel, "caffemodel");
    return parse(text, weights, prototxt.toString(), caffemodel.toString(), dataDims, passThrough);
  }

  private static byte[] read(Path file, String what) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new GraphException(what + " file not found: " + file
          + (what.equals("caffemodel") ? " (give the weights with --weights)" : ""));
    } catch (IOException e) {
      throw new GraphException("cannot read " + what + " file " + file + ": " + e.getMessage());
    }
  }

  public static Imported parse(String prototxt, byte[] caffemodel, String prototxtName, String weightsName,
      int[] dataDims) {
    return parse(prototxt, caffemodel, prototxtName, weightsName, dataDims, Set.of());
  }

  private static Imported parse(String prototxt, byte[] caffemodel, String prototxtName, String weightsName,
      int[] dataDims, Set<String> passThrough) {
    CaffeText.Parsed text = CaffeText.parse(prototxt, prototxtName);
    NetParameter weights;
    try {
      weights = NetParameter.parseFrom(caffemodel);
    } catch (InvalidProtocolBufferException e) {
      throw new GraphException(weightsName + " is not a Caffe caffemodel (binary NetParameter): " + e.getMessage());
    }
    if (caffemodel.length == 0 || weights.getLayerCount() + weights.getLayersCount() == 0) {
      throw new GraphException(weightsName + " is not a Caffe caffemodel: it holds no layers");
    }
    return build(text.net(), weights, prototxtName, weightsName, dataDims, text.ignored(), passThrough);
  }

  /** A net already in memory (e.g. converted from ONNX), its weights in `trained`. */
  public static Imported of(NetParameter deploy, NetParameter trained, String name) {
    return build(deploy, trained, name, name, null, List.of(), Set.of());
  }

  private static Imported build(NetParameter net, NetParameter weights, String prototxtName, String weightsName,
      int[] dataDims, List<String> ignored, Set<String> passThrough) {
    NetParameter deploy = CaffeLegacy.upgrade(net);
    if (deploy.getLayerCount() == 0) throw new GraphException(prototxtName + " has no layers");
    Map<String, LayerParameter> trained = new LinkedHashMap<>();
    for (LayerParameter l : CaffeLegacy.upgrade(weights).getLayerList()) trained.putIfAbsent(l.getName(), l);
    CaffeGraphBuilder b = new CaffeGraphBuilder(deploy, trained, weightsName, dataDims, passThrough);
    for (LayerParameter l : deploy.getLayerList()) {
      if (inTestPhase(l)) b.add(l);
    }
    Graph g;
    try {
      g = b.finish(deploy.getName().isEmpty() ? prototxtName : deploy.getName());
    } catch (GraphException e) {
      throw new GraphException(prototxtName + ": " + e.getMessage(), e);
    }
    NetParameter.Builder bare = deploy.toBuilder();
    for (int i = 0; i < bare.getLayerCount(); i++) bare.setLayer(i, bare.getLayer(i).toBuilder().clearBlobs());
    return new Imported(g, bare.build(), b.layers(), ignored, b.passedThrough());
  }

  /** Caffe's NetStateRule check for the TEST phase (deploy), ignoring levels and stages. */
  private static boolean inTestPhase(LayerParameter l) {
    if (l.hasPhase() && l.getPhase() != Phase.TEST) return false;
    for (NetStateRule r : l.getExcludeList()) if (!r.hasPhase() || r.getPhase() == Phase.TEST) return false;
    if (l.getIncludeCount() == 0) return true;
    for (NetStateRule r : l.getIncludeList()) if (!r.hasPhase() || r.getPhase() == Phase.TEST) return true;
    return false;
  }

  /** A blob's values with its shape (BlobShape, or the legacy num/channels/height/width). */
  static Tensor tensor(BlobProto b) {
    int[] shape;
    if (b.hasShape()) {
      BlobShape s = b.getShape();
      shape = new int[s.getDimCount()];
      for (int i = 0; i < shape.length; i++) {
        long d = s.getDim(i);
        if (d < 0 || d > Integer.MAX_VALUE) throw new GraphException("blob shape " + s.getDimList() + " has dimension " + d);
        shape[i] = (int) d;
      }
    } else {
      shape = new int[] {b.getNum(), b.getChannels(), b.getHeight(), b.getWidth()};
    }
    float[] v;
    if (b.getDataCount() > 0 || b.getDoubleDataCount() == 0) {
      v = new float[b.getDataCount()];
      for (int i = 0; i < v.length; i++) v[i] = b.getData(i);
    } else {
      v = new float[b.getDoubleDataCount()];
      for (int i = 0; i < v.length; i++) v[i] = (float) b.getDoubleData(i);
    }
    long n = 1;
    for (int d : shape) {
      if (d < 0) throw new GraphException("blob shape " + Tensor.shapeString(shape) + " has dimension " + d);
      n = Math.min(n * d, Integer.MAX_VALUE + 1L); // capped: no overflow, and beyond any array
    }
    if (n != v.length) {
      throw new GraphException("blob of shape " + Tensor.shapeString(shape) + " holds " + v.length + " values");
    }
    return Tensor.of(v, shape);
  }

  static Node node(String name, String op, List<String> in, List<String> out, Map<String, Object> attrs) {
    return new Node(name, op, in, out, new io.qspark.kernels.graph.Attributes(attrs));
  }
}

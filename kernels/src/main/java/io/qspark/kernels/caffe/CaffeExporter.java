package io.qspark.kernels.caffe;

import io.qspark.kernels.caffe.proto.CaffeProto.BlobProto;
import io.qspark.kernels.caffe.proto.CaffeProto.BlobShape;
import io.qspark.kernels.caffe.proto.CaffeProto.ConvolutionParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.EltwiseParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.InputParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.PoolingParameter;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a float graph (ONNX op types) as Caffe layers with their weights in the blobs, so an
 * ONNX model can be given to CHaiDNN: the deploy prototxt is this net without blobs, the
 * caffemodel this net. Only what has an exact Caffe equivalent is written; everything else is
 * listed in one error.
 */
public final class CaffeExporter {
  private final Graph g;
  private final NetParameter.Builder net;
  private final Map<String, String> alias = new HashMap<>(); // Identity/Dropout outputs -> their input
  private final Map<String, List<String>> unsupported = new TreeMap<>();

  private CaffeExporter(Graph g) {
    this.g = g;
    this.net = NetParameter.newBuilder().setName(g.name());
  }

  public static NetParameter export(Graph g) {
    CaffeExporter e = new CaffeExporter(g);
    for (ValueInfo in : g.inputs()) {
      int[] s = in.shape();
      BlobShape.Builder shape = BlobShape.newBuilder();
      for (int i = 0; i < s.length; i++) shape.addDim(i == 0 && s[i] < 0 ? 1 : s[i]);
      e.net.addLayer(LayerParameter.newBuilder().setName(in.name()).setType("Input").addTop(in.name())
          .setInputParam(InputParameter.newBuilder().addShape(shape)));
    }
    for (Node n : g.nodes()) e.node(n);
    if (!e.unsupported.isEmpty()) {
      List<String> u = new ArrayList<>();
      e.unsupported.forEach((t, ns) -> u.add(t + " (" + String.join(", ", ns) + ")"));
      throw new GraphException(g.name() + " cannot be written as Caffe layers: " + String.join(", ", u));
    }
    return e.net.build();
  }

  private String in(Node n, int i) {
    String v = n.input(i);
    return alias.getOrDefault(v, v);
  }

  private Tensor init(Node n, int i) {
    return n.hasInput(i) ? g.initializers().get(n.input(i)) : null;
  }

  private LayerParameter.Builder layer(Node n, String type, int dataInputs) {
    LayerParameter.Builder l = LayerParameter.newBuilder().setName(n.name().isEmpty() ? n.outputs().get(0) : n.name())
        .setType(type).addTop(n.outputs().get(0));
    for (int i = 0; i < dataInputs; i++) l.addBottom(in(n, i));
    return l;
  }

  private void unsupported(Node n, String why) {
    unsupported.computeIfAbsent(n.opType() + (why.isEmpty() ? "" : " " + why), k -> new ArrayList<>())
        .add(n.name().isEmpty() ? n.outputs().get(0) : n.name());
  }

  private void node(Node n) {
    Attributes a = n.attributes();
    switch (n.opType()) {
      case "Identity":
      case "Dropout":
        alias.put(n.outputs().get(0), in(n, 0));
        return;
      case "Conv":
      case "ConvTranspose":
        conv(n, a);
        return;
      case "BatchNormalization": {
        Tensor gamma = init(n, 1), beta = init(n, 2), mean = init(n, 3), var = init(n, 4);
        if (gamma == null || beta == null || mean == null || var == null) {
          unsupported(n, "with computed parameters");
          return;
        }
        String mid = n.outputs().get(0) + "/bn";
        LayerParameter.Builder bn = layer(n, "BatchNorm", 1).setTop(0, mid).setName(n.name() + "/bn")
            .addBlobs(blob(mean)).addBlobs(blob(var)).addBlobs(blob(Tensor.of(new float[] {1f}, 1)));
        bn.getBatchNormParamBuilder().setUseGlobalStats(true).setEps(a.getFloat("epsilon", 1e-5f));
        net.addLayer(bn);
        LayerParameter.Builder sc = layer(n, "Scale", 0).addBottom(mid).setName(n.name() + "/scale")
            .addBlobs(blob(gamma)).addBlobs(blob(beta));
        sc.getScaleParamBuilder().setBiasTerm(true);
        net.addLayer(sc);
        return;
      }
      case "Relu":
        net.addLayer(layer(n, "ReLU", 1));
        return;
      case "LeakyRelu": {
        LayerParameter.Builder l = layer(n, "ReLU", 1);
        l.getReluParamBuilder().setNegativeSlope(a.getFloat("alpha", 0.01f));
        net.addLayer(l);
        return;
      }
      case "Add":
      case "Sum":
      case "Max":
      case "Mul": {
        for (int i = 0; i < n.inputs().size(); i++) {
          if (g.initializers().containsKey(n.input(i))) {
            unsupported(n, "with a constant operand");
            return;
          }
        }
        LayerParameter.Builder l = layer(n, "Eltwise", n.inputs().size());
        l.getEltwiseParamBuilder().setOperation(n.opType().equals("Max") ? EltwiseParameter.EltwiseOp.MAX
            : n.opType().equals("Mul") ? EltwiseParameter.EltwiseOp.PROD : EltwiseParameter.EltwiseOp.SUM);
        net.addLayer(l);
        return;
      }
      case "MaxPool":
      case "AveragePool":
        pool(n, a);
        return;
      case "GlobalAveragePool": {
        LayerParameter.Builder l = layer(n, "Pooling", 1);
        l.getPoolingParamBuilder().setPool(PoolingParameter.PoolMethod.AVE).setGlobalPooling(true);
        net.addLayer(l);
        return;
      }
      case "Flatten":
        if (a.getInt("axis", 1) != 1) {
          unsupported(n, "axis " + a.getInt("axis", 1));
          return;
        }
        net.addLayer(layer(n, "Flatten", 1));
        return;
      case "Gemm": {
        Tensor w = init(n, 1);
        if (w == null || a.getInt("transA", 0) != 0 || a.getFloat("alpha", 1f) != 1f || a.getFloat("beta", 1f) != 1f) {
          unsupported(n, "other than x * W + b with constant W");
          return;
        }
        boolean transB = a.getInt("transB", 0) != 0;
        LayerParameter.Builder l = layer(n, "InnerProduct", 1).addBlobs(blob(w));
        Tensor b = init(n, 2);
        l.getInnerProductParamBuilder().setNumOutput(transB ? w.dim(0) : w.dim(1)).setTranspose(!transB)
            .setBiasTerm(b != null);
        if (b != null) l.addBlobs(blob(b));
        net.addLayer(l);
        return;
      }
      case "Softmax": {
        LayerParameter.Builder l = layer(n, "Softmax", 1);
        l.getSoftmaxParamBuilder().setAxis((int) a.getInt("axis", 1));
        net.addLayer(l);
        return;
      }
      case "Concat": {
        LayerParameter.Builder l = layer(n, "Concat", n.inputs().size());
        l.getConcatParamBuilder().setAxis((int) a.getInt("axis", 1));
        net.addLayer(l);
        return;
      }
      case "Reshape": {
        Tensor s = init(n, 1);
        if (s == null) {
          unsupported(n, "with a computed shape");
          return;
        }
        LayerParameter.Builder l = layer(n, "Reshape", 1);
        BlobShape.Builder bs = l.getReshapeParamBuilder().getShapeBuilder();
        for (long d : s.asLongs()) bs.addDim(d);
        net.addLayer(l);
        return;
      }
      case "Transpose": {
        LayerParameter.Builder l = layer(n, "Permute", 1);
        for (long p : a.getInts("perm", new long[0])) l.getPermuteParamBuilder().addOrder((int) p);
        net.addLayer(l);
        return;
      }
      default:
        unsupported(n, "");
    }
  }

  private void conv(Node n, Attributes a) {
    boolean transposed = n.opType().equals("ConvTranspose");
    Tensor w = init(n, 1);
    long[] p = a.getInts("pads", new long[] {0, 0, 0, 0});
    if (w == null || w.rank() != 4 || !a.getString("auto_pad", "NOTSET").equals("NOTSET") || p[0] != p[2] || p[1] != p[3]
        || transposed && (a.has("output_padding") || a.has("output_shape"))) {
      unsupported(n, "with constant 2-D weights and symmetric explicit pads");
      return;
    }
    long[] s = a.getInts("strides", new long[] {1, 1});
    long[] d = a.getInts("dilations", new long[] {1, 1});
    int group = (int) a.getInt("group", 1);
    LayerParameter.Builder l = layer(n, transposed ? "Deconvolution" : "Convolution", 1).addBlobs(blob(w));
    ConvolutionParameter.Builder c = l.getConvolutionParamBuilder()
        .setNumOutput(transposed ? w.dim(1) * group : w.dim(0)).setGroup(group)
        .setKernelH(w.dim(2)).setKernelW(w.dim(3)).setStrideH((int) s[0]).setStrideW((int) s[1])
        .setPadH((int) p[0]).setPadW((int) p[1]);
    if (d[0] != 1 || d[1] != 1) {
      c.addDilation((int) d[0]);
      if (d[1] != d[0]) c.addDilation((int) d[1]);
    }
    Tensor b = init(n, 2);
    c.setBiasTerm(b != null);
    if (b != null) l.addBlobs(blob(b));
    net.addLayer(l);
  }

  private void pool(Node n, Attributes a) {
    boolean max = n.opType().equals("MaxPool");
    long[] k = a.getInts("kernel_shape", null);
    long[] p = a.getInts("pads", new long[] {0, 0, 0, 0});
    long[] s = a.getInts("strides", new long[] {1, 1});
    long[] d = a.getInts("dilations", new long[] {1, 1});
    boolean padded = p[0] != 0 || p[1] != 0;
    if (k == null || k.length != 2 || p[0] != p[2] || p[1] != p[3] || d[0] != 1 || d[1] != 1
        || !a.getString("auto_pad", "NOTSET").equals("NOTSET") || n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()
        || !max && padded && a.getInt("count_include_pad", 0) == 0) {
      unsupported(n, "other than Caffe's (symmetric pads, no dilation, average counting the padding)");
      return;
    }
    LayerParameter.Builder l = layer(n, "Pooling", 1);
    l.getPoolingParamBuilder().setPool(max ? PoolingParameter.PoolMethod.MAX : PoolingParameter.PoolMethod.AVE)
        .setKernelH((int) k[0]).setKernelW((int) k[1]).setStrideH((int) s[0]).setStrideW((int) s[1])
        .setPadH((int) p[0]).setPadW((int) p[1])
        .setRoundMode(a.getInt("ceil_mode", 0) != 0 ? PoolingParameter.RoundMode.CEIL : PoolingParameter.RoundMode.FLOOR);
    net.addLayer(l);
  }

  static BlobProto blob(Tensor t) {
    BlobProto.Builder b = BlobProto.newBuilder();
    BlobShape.Builder s = BlobShape.newBuilder();
    for (int d : t.shape()) s.addDim(d);
    for (float v : t.data()) b.addData(v);
    return b.setShape(s).build();
  }
}

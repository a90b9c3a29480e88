package io.qspark.kernels.caffe;

import io.qspark.kernels.caffe.proto.CaffeProto.LayerParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.caffe.proto.CaffeProto.V1LayerParameter;
import java.util.Locale;
import java.util.Map;

/**
 * Brings a net in the legacy form (NetParameter.layers, V1LayerParameter with an enum type) to
 * the current one, as Caffe's UpgradeV1Net does for the fields qspark reads.
 */
final class CaffeLegacy {
  private CaffeLegacy() {}

  /** Enum names whose type string is not their CamelCase (Caffe's UpgradeV1LayerType). */
  private static final Map<String, String> TYPES = Map.ofEntries(
      Map.entry("RELU", "ReLU"), Map.entry("INNER_PRODUCT", "InnerProduct"), Map.entry("TANH", "TanH"),
      Map.entry("SOFTMAX_LOSS", "SoftmaxWithLoss"), Map.entry("HDF5_DATA", "HDF5Data"),
      Map.entry("HDF5_OUTPUT", "HDF5Output"), Map.entry("LRN", "LRN"), Map.entry("MVN", "MVN"),
      Map.entry("BNLL", "BNLL"), Map.entry("ABSVAL", "AbsVal"), Map.entry("ARGMAX", "ArgMax"),
      Map.entry("IM2COL", "Im2col"));

  static NetParameter upgrade(NetParameter net) {
    if (net.getLayersCount() == 0) return net;
    NetParameter.Builder b = net.toBuilder().clearLayers();
    for (V1LayerParameter v1 : net.getLayersList()) b.addLayer(layer(v1));
    return b.build();
  }

  static String type(V1LayerParameter.LayerType t) {
    String n = t.name();
    if (TYPES.containsKey(n)) return TYPES.get(n);
    StringBuilder s = new StringBuilder();
    for (String part : n.split("_")) {
      s.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
    }
    return s.toString();
  }

  private static LayerParameter layer(V1LayerParameter v) {
    LayerParameter.Builder l = LayerParameter.newBuilder().setName(v.getName()).setType(type(v.getType()))
        .addAllBottom(v.getBottomList()).addAllTop(v.getTopList()).addAllBlobs(v.getBlobsList())
        .addAllInclude(v.getIncludeList()).addAllExclude(v.getExcludeList());
    if (v.hasConcatParam()) l.setConcatParam(v.getConcatParam());
    if (v.hasConvolutionParam()) l.setConvolutionParam(v.getConvolutionParam());
    if (v.hasDataParam()) l.setDataParam(v.getDataParam());
    if (v.hasDropoutParam()) l.setDropoutParam(v.getDropoutParam());
    if (v.hasEltwiseParam()) l.setEltwiseParam(v.getEltwiseParam());
    if (v.hasInnerProductParam()) l.setInnerProductParam(v.getInnerProductParam());
    if (v.hasPoolingParam()) l.setPoolingParam(v.getPoolingParam());
    if (v.hasPowerParam()) l.setPowerParam(v.getPowerParam());
    if (v.hasReluParam()) l.setReluParam(v.getReluParam());
    if (v.hasSoftmaxParam()) l.setSoftmaxParam(v.getSoftmaxParam());
    if (v.hasTransformParam()) l.setTransformParam(v.getTransformParam());
    return l.build();
  }
}

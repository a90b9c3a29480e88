package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.onnx.proto.OnnxProto.AttributeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.NodeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.OperatorSetIdProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorShapeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TypeProto;
import io.qspark.kernels.onnx.proto.OnnxProto.ValueInfoProto;
import io.qspark.kernels.tensor.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Single-node models on random data, run by the executor and by onnxruntime: the attribute
 * combinations and old-opset forms ONNX's node vectors do not cover (grouped ConvTranspose with
 * bias, ceil_mode with count_include_pad, fractional Resize scales, opset 10/11 Softmax, Resize
 * and Pad, Upsample).
 */
class OpsVersusOnnxRuntimeTest {
  /** One node: op type, opset, attributes, runtime inputs and constant inputs (initializers). */
  record Case(String op, int opset, Map<String, Object> attrs, List<Tensor> inputs,
      Map<Integer, Tensor> constants) {}

  private static final Random RNG = new Random(42);

  static Stream<Named<Case>> cases() {
    List<Named<Case>> c = new ArrayList<>();
    // ConvTranspose: group, bias, strides, dilations, asymmetric pads, output_padding
    c.add(named("convtranspose stride pads output_padding bias", "ConvTranspose", 13,
        attrs("strides", ints(2, 2), "pads", ints(1, 0, 0, 1), "output_padding", ints(1, 0)),
        rand(2, 4, 5, 6), rand(4, 3, 3, 3), rand(3)));
    c.add(named("convtranspose group dilations", "ConvTranspose", 13,
        attrs("group", 2L, "strides", ints(1, 2), "dilations", ints(2, 1), "pads", ints(1, 1, 0, 0)),
        rand(1, 4, 5, 5), rand(4, 2, 3, 2), rand(4)));
    c.add(named("convtranspose depthwise", "ConvTranspose", 13,
        attrs("group", 3L, "strides", ints(2, 2)), rand(2, 3, 4, 4), rand(3, 1, 2, 2)));
    for (String pad : new String[] {"SAME_UPPER", "SAME_LOWER"}) {
      for (int k : new int[] {3, 4}) {
        c.add(named("convtranspose " + pad + " k" + k, "ConvTranspose", 13,
            attrs("auto_pad", pad, "strides", ints(2, 2)), rand(1, 2, 4, 5), rand(2, 2, k, k)));
      }
    }
    c.add(named("convtranspose output_shape", "ConvTranspose", 13,
        attrs("strides", ints(2, 2), "output_shape", ints(9, 12)), rand(1, 2, 4, 5), rand(2, 3, 3, 3), rand(3)));
    // pooling
    c.add(named("maxpool ceil pads", "MaxPool", 13,
        attrs("kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1), "ceil_mode", 1L),
        rand(2, 3, 9, 10)));
    c.add(named("maxpool dilations", "MaxPool", 13,
        attrs("kernel_shape", ints(2, 3), "dilations", ints(2, 2), "pads", ints(1, 0, 1, 2)), rand(1, 2, 8, 9)));
    c.add(named("maxpool same_lower", "MaxPool", 13,
        attrs("kernel_shape", ints(3, 3), "strides", ints(2, 2), "auto_pad", "SAME_LOWER"), rand(1, 2, 8, 9)));
    // ceil_mode with count_include_pad is left to PoolingTest: onnxruntime before opset 19
    // divides windows hanging past the pads by the full kernel size, PyTorch does not
    c.add(named("averagepool count_include_pad", "AveragePool", 13,
        attrs("kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 2, 2, 1), "count_include_pad", 1L),
        rand(2, 3, 9, 10)));
    c.add(named("averagepool ceil exclude pad", "AveragePool", 13,
        attrs("kernel_shape", ints(3, 2), "strides", ints(2, 3), "pads", ints(0, 1, 1, 0), "ceil_mode", 1L),
        rand(1, 2, 8, 9)));
    c.add(named("averagepool same_upper count_include_pad", "AveragePool", 13,
        attrs("kernel_shape", ints(3, 3), "strides", ints(2, 2), "auto_pad", "SAME_UPPER", "count_include_pad", 1L),
        rand(1, 2, 8, 9)));
    // Resize, opset 13: fractional scales and sizes in every supported mode. align_corners
    // gets whole output lengths in * scale: for fractional ones ONNX's reference (and its node
    // vectors) map onto the unrounded length, onnxruntime onto the rounded one.
    String[] coords = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"};
    for (String ct : coords) {
      boolean whole = ct.equals("align_corners");
      c.add(constNamed("resize linear " + ct + " scales", "Resize", 13,
          attrs("mode", "linear", "coordinate_transformation_mode", ct), List.of(rand(1, 2, 5, whole ? 6 : 7)),
          Map.of(1, floats(), 2, whole ? floats(1, 1, 1.6f, 0.5f) : floats(1, 1, 1.7f, 0.6f))));
      c.add(constNamed("resize linear " + ct + " sizes", "Resize", 13,
          attrs("mode", "linear", "coordinate_transformation_mode", ct), List.of(rand(1, 2, 5, 7)),
          Map.of(1, floats(), 2, floats(), 3, longs(1, 2, 9, 1))));
    }
    String[] nearest = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    for (int i = 0; i < nearest.length; i++) {
      String ct = i == 3 ? "tf_half_pixel_for_nn" : coords[i];
      c.add(constNamed("resize nearest " + nearest[i] + " " + ct, "Resize", 13,
          attrs("mode", "nearest", "nearest_mode", nearest[i], "coordinate_transformation_mode", ct),
          List.of(rand(1, 2, 4, 6)), Map.of(1, floats(), 2, floats(1, 1, 2.5f, 0.5f))));
      c.add(constNamed("resize nearest " + nearest[i] + " " + coords[3 - i] + " sizes", "Resize", 13,
          attrs("mode", "nearest", "nearest_mode", nearest[i], "coordinate_transformation_mode", coords[3 - i]),
          List.of(rand(1, 2, 5, 6)), Map.of(1, floats(), 2, floats(), 3, longs(1, 2, 7, 4))));
    }
    // Resize-10 and Upsample: asymmetric coordinates, onnxruntime's nearest rule
    c.add(constNamed("resize opset 10 nearest up", "Resize", 10, attrs("mode", "nearest"),
        List.of(rand(1, 2, 3, 4)), Map.of(1, floats(1, 1, 2, 3))));
    c.add(constNamed("resize opset 10 nearest down", "Resize", 10, attrs("mode", "nearest"),
        List.of(rand(1, 2, 7, 9)), Map.of(1, floats(1, 1, 0.5f, 0.7f))));
    c.add(constNamed("resize opset 10 linear", "Resize", 10, attrs("mode", "linear"),
        List.of(rand(1, 2, 3, 4)), Map.of(1, floats(1, 1, 2.5f, 1.5f))));
    c.add(constNamed("upsample opset 9 linear", "Upsample", 9, attrs("mode", "linear"),
        List.of(rand(1, 2, 3, 4)), Map.of(1, floats(1, 1, 2, 2.5f))));
    c.add(named("upsample opset 7 nearest attribute", "Upsample", 7,
        attrs("mode", "nearest", "scales", new float[] {1, 1, 2, 3}), rand(1, 2, 3, 4)));
    // Softmax: flatten-to-2-D before opset 13, one axis since
    c.add(named("softmax opset 11 default axis", "Softmax", 11, attrs(), rand(2, 3, 4)));
    c.add(named("softmax opset 11 axis 0", "Softmax", 11, attrs("axis", 0L), rand(2, 3, 4)));
    c.add(named("softmax opset 13 axis 1", "Softmax", 13, attrs("axis", 1L), rand(2, 3, 4)));
    // Pad: attribute form (opset < 11), input form, reflect beyond one fold, cropping
    c.add(named("pad opset 10 attribute constant", "Pad", 10,
        attrs("pads", ints(0, 1, 2, 0, 0, 2, 1, 3), "value", 1.5f), rand(1, 2, 3, 4)));
    c.add(constNamed("pad reflect", "Pad", 13, attrs("mode", "reflect"), List.of(rand(1, 2, 4, 5)),
        Map.of(1, longs(0, 0, 3, 4, 0, 0, 2, 1))));
    c.add(constNamed("pad edge with crop", "Pad", 13, attrs("mode", "edge"), List.of(rand(1, 2, 4, 5)),
        Map.of(1, longs(0, 1, -1, 3, 0, 0, 2, -2))));
    c.add(constNamed("pad constant value", "Pad", 13, attrs(), List.of(rand(2, 3, 4)),
        Map.of(1, longs(1, 0, 2, 0, 1, 1), 2, Tensor.of(new float[] {-2f}))));
    // shape ops
    c.add(named("squeeze opset 11 attribute", "Squeeze", 11, attrs("axes", ints(0, -2)), rand(1, 3, 1, 4)));
    c.add(named("unsqueeze opset 11 attribute", "Unsqueeze", 11, attrs("axes", ints(-1, 0)), rand(3, 4)));
    c.add(named("transpose 4-D", "Transpose", 13, attrs("perm", ints(0, 2, 3, 1)), rand(2, 3, 4, 5)));
    c.add(constNamed("gather axis 1 negative", "Gather", 13, attrs("axis", 1L), List.of(rand(2, 5, 3)),
        Map.of(1, Tensor.ofLongs(new long[] {-1, 0, 3, -5, 2, 2}, 2, 3))));
    c.add(named("concat axis 2", "Concat", 13, attrs("axis", 2L), rand(2, 3, 1, 2), rand(2, 3, 4, 2), rand(2, 3, 2, 2)));
    c.add(named("sum broadcast", "Sum", 13, attrs(), rand(2, 3, 4), rand(3, 1), rand(4)));
    c.add(named("max broadcast", "Max", 13, attrs(), rand(2, 3, 4), rand(1, 4), rand(2, 1, 1)));
    c.add(named("min broadcast", "Min", 13, attrs(), rand(3, 4), rand(2, 3, 4)));
    return c.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void matchesOnnxRuntime(Case c) throws Exception {
    byte[] model = model(c);
    Graph g = OnnxImporter.parse(model, Path.of("."), c.op()).graph();
    Map<String, Tensor> feeds = new HashMap<>();
    for (int i = 0; i < c.inputs().size(); i++) feeds.put("x" + i, c.inputs().get(i));
    Tensor ours = new Executor(g).run(feeds).get("y");

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession s = env.createSession(model, new OrtSession.SessionOptions())) {
      Map<String, OnnxTensor> ortFeeds = new LinkedHashMap<>();
      try {
        for (int i = 0; i < c.inputs().size(); i++) {
          Tensor t = c.inputs().get(i);
          ortFeeds.put("x" + i, OnnxTensor.createTensor(env, FloatBuffer.wrap(t.data()), dims(t)));
        }
        try (OrtSession.Result r = s.run(ortFeeds)) {
          OnnxTensor y = (OnnxTensor) r.get(0);
          long[] shape = y.getInfo().getShape();
          int[] want = new int[shape.length];
          for (int i = 0; i < shape.length; i++) want[i] = (int) shape[i];
          assertArrayEquals(want, ours.shape(), "shape");
          FloatBuffer fb = y.getFloatBuffer();
          float[] ref = new float[fb.remaining()];
          fb.get(ref);
          float[] got = ours.data();
          assertEquals(ref.length, got.length);
          for (int i = 0; i < ref.length; i++) {
            if (Math.abs(ref[i] - got[i]) > 1e-4 + 1e-4 * Math.abs(ref[i])) {
              fail("[" + i + "] = " + got[i] + ", onnxruntime " + ref[i]);
            }
          }
        }
      } finally {
        ortFeeds.values().forEach(OnnxValue::close);
      }
    }
  }

  private static byte[] model(Case c) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(c.op()).setName("n").addOutput("y");
    GraphProto.Builder g = GraphProto.newBuilder().setName("g");
    int runtime = 0;
    int arity = c.inputs().size() + c.constants().size();
    for (int i = 0; i < arity; i++) {
      Tensor k = c.constants().get(i);
      if (k == null) {
        String name = "x" + runtime;
        g.addInput(valueInfo(name, c.inputs().get(runtime++).shape()));
        n.addInput(name);
      } else if (k.size() == 0 && k.rank() == 1 && k.dim(0) == 0 && c.op().equals("Resize")) {
        n.addInput(""); // an omitted optional input (roi, scales)
      } else {
        String name = "c" + i;
        g.addInitializer(tensor(name, k));
        n.addInput(name);
      }
    }
    c.attrs().forEach((k, v) -> n.addAttribute(attribute(k, v)));
    g.addNode(n).addOutput(ValueInfoProto.newBuilder().setName("y")
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
            .setElemType(TensorProto.DataType.FLOAT_VALUE))));
    return ModelProto.newBuilder().setIrVersion(7).setProducerName("qspark-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(c.opset()))
        .setGraph(g).build().toByteArray();
  }

  private static ValueInfoProto valueInfo(String name, int[] shape) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (int d : shape) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
            .setShape(s))).build();
  }

  private static TensorProto tensor(String name, Tensor t) {
    TensorProto.Builder b = TensorProto.newBuilder().setName(name);
    for (int d : t.shape()) b.addDims(d);
    if (t.isFloat()) {
      b.setDataType(TensorProto.DataType.FLOAT_VALUE);
      for (float f : t.data()) b.addFloatData(f);
    } else {
      b.setDataType(TensorProto.DataType.INT64_VALUE);
      for (long l : t.longs()) b.addInt64Data(l);
    }
    return b.build();
  }

  private static AttributeProto attribute(String name, Object v) {
    AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
    if (v instanceof Long) {
      a.setType(AttributeProto.AttributeType.INT).setI((Long) v);
    } else if (v instanceof Float) {
      a.setType(AttributeProto.AttributeType.FLOAT).setF((Float) v);
    } else if (v instanceof String) {
      a.setType(AttributeProto.AttributeType.STRING).setS(com.google.protobuf.ByteString.copyFromUtf8((String) v));
    } else if (v instanceof long[]) {
      a.setType(AttributeProto.AttributeType.INTS);
      for (long l : (long[]) v) a.addInts(l);
    } else {
      a.setType(AttributeProto.AttributeType.FLOATS);
      for (float f : (float[]) v) a.addFloats(f);
    }
    return a.build();
  }

  private static Named<Case> named(String name, String op, int opset, Map<String, Object> attrs,
      Tensor... inputs) {
    return Named.of(name, new Case(op, opset, attrs, List.of(inputs), Map.of()));
  }

  private static Named<Case> constNamed(String name, String op, int opset, Map<String, Object> attrs,
      List<Tensor> inputs, Map<Integer, Tensor> constants) {
    return Named.of(name, new Case(op, opset, attrs, inputs, constants));
  }

  private static Map<String, Object> attrs(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  private static long[] ints(long... v) {
    return v;
  }

  private static Tensor floats(float... v) {
    return Tensor.of(v, v.length);
  }

  private static Tensor longs(long... v) {
    return Tensor.ofLongs(v, v.length);
  }

  private static Tensor rand(int... shape) {
    float[] d = new float[(int) Tensor.size(shape)];
    for (int i = 0; i < d.length; i++) d[i] = (float) RNG.nextGaussian();
    return Tensor.of(d, shape);
  }

  private static long[] dims(Tensor t) {
    int[] s = t.shape();
    long[] l = new long[s.length];
    for (int i = 0; i < s.length; i++) l[i] = s[i];
    return l;
  }
}

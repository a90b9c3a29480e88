package io.qspark.kernels.testing;

import static io.qspark.kernels.testing.OnnxBuilder.in;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Two models with the shapes other frameworks' converters emit (opset 11, a Constant node for
 * every weight), for tests of import, ONNX Runtime parity, quantization and deployment.
 */
public final class ConverterModels {
  private ConverterModels() {}

  /**
   * A detector exported for any image size: input images [batch, 3, height, width] with height
   * and width dynamic; HardSigmoid·Mul (HardSwish) and Sigmoid·Mul (SiLU) activations; a Split
   * into two branches and their Concat; a nearest x2 Resize whose sizes come from
   * Shape/Gather/Mul/Unsqueeze/Slice/Concat/Cast; a bias broadcast by an Expand whose shape goes
   * through Equal/Where/ConstantOfShape; a Reshape to [N, 6, H*W] whose target comes from
   * Shape, a Softmax on the last axis and a ReduceSum. Outputs: boxes [N, 6, H/2·2, W/2·2],
   * scores [N, 6].
   */
  public static Path dynamicDetector(Path file) throws IOException {
    OnnxBuilder b = new OnnxBuilder(11, 11);
    b.input("images", "batch", 3, "height", "width");
    String c1 = b.conv("images", 3, 8, 3, 2);
    String hs = b.op("Mul", in(c1, b.op("HardSigmoid", in(c1), "alpha", 1f / 6, "beta", 0.5f)));
    String c2 = b.conv(hs, 8, 8, 3, 1);
    String silu = b.op("Mul", in(b.op("Sigmoid", in(c2)), c2));
    String[] parts = b.opN("Split", in(silu), 2, "axis", 1L, "split", new long[] {4, 4});
    String a2 = b.conv(parts[0], 4, 4, 3, 1);
    String b2 = b.conv(parts[1], 4, 4, 1, 1);
    String cat = b.op("Concat", in(a2, b2), "axis", 1L);
    String shape = b.op("Shape", in(cat));
    String h2 = b.op("Mul", in(b.op("Gather", in(shape, b.scalar(2)), "axis", 0L), b.scalar(2)));
    String w2 = b.op("Mul", in(b.op("Gather", in(shape, b.scalar(3)), "axis", 0L), b.scalar(2)));
    String hw = b.op("Concat", in(b.op("Unsqueeze", in(h2), "axes", new long[] {0}),
        b.op("Unsqueeze", in(w2), "axes", new long[] {0})), "axis", 0L);
    String nc = b.op("Slice", in(shape, b.longs(0), b.longs(2), b.longs(0)));
    String sizes = b.op("Cast", in(b.op("Cast", in(b.op("Concat", in(nc, hw), "axis", 0L)), "to", 1L)), "to", 7L);
    String empty = b.constant(new float[0], 0);
    String up = b.op("Resize", in(cat, empty, empty, sizes), "mode", "nearest",
        "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor");
    String target = b.op("Concat", in(b.longs(1, 8), hw), "axis", 0L);
    String ones = b.op("Add", in(b.op("ConstantOfShape", in(b.longs(4))), b.constant(new float[] {1f})));
    String onesLong = b.op("Cast", in(ones), "to", 7L);
    String safe = b.op("Where", in(b.op("Equal", in(target, b.longs(-1))), onesLong, target));
    String bias = b.op("Expand", in(b.weights(0.5f, 1, 8, 1, 1), safe));
    String up2 = b.op("Add", in(up, bias));
    String boxes = b.conv(up2, 8, 6, 1, 1);
    String n = b.op("Unsqueeze", in(b.op("Gather", in(b.op("Shape", in(boxes)), b.scalar(0)), "axis", 0L)),
        "axes", new long[] {0});
    String flat = b.op("Reshape", in(boxes, b.op("Concat", in(n, b.longs(6), b.longs(-1)), "axis", 0L)));
    String attn = b.op("Softmax", in(flat), "axis", 2L);
    String scores = b.op("ReduceSum", in(b.op("Mul", in(flat, attn))), "axes", new long[] {2}, "keepdims", 0L);
    return b.output(b.op("Identity", in(boxes))).output(scores).write(file);
  }

  /**
   * Ops whose form changed after opset 9, as an opset-9 export writes them: Clip, Pad, Slice,
   * Split, Squeeze, Unsqueeze and ReduceSum with attributes, Upsample, and a Softmax over axis
   * 1 of a 4-D value (which before opset 13 normalises over C·H·W together). Input x [N, 4, 8,
   * 8], output y [N, 8, 1].
   */
  public static Path opset9Forms(Path file) throws IOException {
    OnnxBuilder b = new OnnxBuilder(9, 9);
    b.input("x", "N", 4, 8, 8);
    String clip = b.op("Clip", in(b.conv("x", 4, 6, 3, 1)), "min", -1f, "max", 2f);
    String pad = b.op("Pad", in(clip), "pads", new long[] {0, 0, 1, 1, 0, 0, 1, 1}, "value", 0.5f);
    String slice = b.op("Slice", in(pad), "starts", new long[] {1, 1}, "ends", new long[] {9, 9}, "axes", new long[] {2, 3});
    String[] parts = b.opN("Split", in(slice), 2, "axis", 1L, "split", new long[] {2, 4});
    String up = b.op("Upsample", in(parts[0], b.constant(new float[] {1, 1, 2, 2}, 4)), "mode", "nearest");
    String cat = b.op("Concat", in(b.conv(up, 2, 4, 3, 2), parts[1]), "axis", 1L);
    String sm = b.op("Softmax", in(cat), "axis", 1L);
    String sum = b.op("ReduceSum", in(b.op("Mul", in(sm, cat))), "axes", new long[] {2, 3}, "keepdims", 1L);
    String sq = b.op("Squeeze", in(sum), "axes", new long[] {2, 3});
    return b.output(b.op("Unsqueeze", in(sq), "axes", new long[] {2})).write(file);
  }

  /**
   * A model exported with a fixed batch of 2 whose graph mixes its images: each image minus the
   * batch's mean (ReduceMean over axis 0), a conv and a ReLU. Input x [2, 4, 8, 8], output y.
   */
  public static Path batchMixing(Path file) throws IOException {
    OnnxBuilder b = new OnnxBuilder(13, 13);
    b.input("x", 2, 4, 8, 8);
    String centred = b.op("Sub", in("x", b.op("ReduceMean", in("x"), "axes", new long[] {0}, "keepdims", 1L)));
    return b.output(b.op("Relu", in(b.conv(centred, 4, 4, 3, 1)))).write(file);
  }

  /**
   * Conv blocks around a transformer-style block as tf2onnx writes it, exported with a fixed
   * batch of 1: Reshape [1,16,256] and Transpose to [1,256,16], LayerNorm decomposed into
   * ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add, 3-D MatMul + Add, Softmax on the last
   * axis, a second 3-D MatMul, Transpose and Reshape back, a residual Add, conv, global pooling,
   * Squeeze and a 2-D MatMul + Add as the classifier. Output logits [1, 10].
   */
  public static Path layerNormBlocks(Path file) throws IOException {
    OnnxBuilder b = new OnnxBuilder(11, 12);
    b.input("input", 1, 3, 16, 16);
    String r = b.op("Relu", in(b.conv("input", 3, 16, 3, 1)));
    String t = b.op("Transpose", in(b.op("Reshape", in(r, b.longs(1, 16, 256)))), "perm", new long[] {0, 2, 1});
    String mean = b.op("ReduceMean", in(t), "axes", new long[] {-1}, "keepdims", 1L);
    String d = b.op("Sub", in(t, mean));
    String var = b.op("ReduceMean", in(b.op("Pow", in(d, b.constant(new float[] {2f})))), "axes", new long[] {-1},
        "keepdims", 1L);
    String sd = b.op("Sqrt", in(b.op("Add", in(var, b.constant(new float[] {1e-5f})))));
    String ln = b.op("Add", in(b.op("Mul", in(b.op("Div", in(d, sd)), b.weights(0.5f, 16))), b.weights(0.1f, 16)));
    String mm = b.op("Add", in(b.op("MatMul", in(ln, b.weights(0.5f, 16, 16))), b.weights(0.1f, 16)));
    String sm = b.op("Softmax", in(mm), "axis", 2L);
    String mm2 = b.op("MatMul", in(sm, b.weights(1f, 16, 16)));
    String img = b.op("Reshape", in(b.op("Transpose", in(mm2), "perm", new long[] {0, 2, 1}), b.longs(1, 16, 16, 16)));
    String res = b.op("Add", in(img, r));
    String r2 = b.op("Relu", in(b.conv(res, 16, 8, 3, 1)));
    String sq = b.op("Squeeze", in(b.op("GlobalAveragePool", in(r2))), "axes", new long[] {2, 3});
    String logits = b.op("Add", in(b.op("MatMul", in(sq, b.weights(0.5f, 8, 10))), b.weights(0.1f, 10)));
    return b.output(logits).write(file);
  }
}

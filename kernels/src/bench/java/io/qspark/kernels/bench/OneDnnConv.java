package io.qspark.kernels.bench;

import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.ConvGeometry;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * One conv layer on nd4j-native's oneDNN build, set up the way an executor dispatching a layer
 * to it would: the op ({@code conv2d}, or {@code depthwise_conv2d} where every group is one
 * channel) and its arrays built once and reused for every call, weights in ONNX's
 * [out, in/group, kh, kw] layout (nd4j's weight format 1, which oneDNN reads without a
 * transpose), NCHW activations. {@link #forward} and {@link #backward} run the op on the
 * resident off-heap arrays; {@link #forwardFrom} and {@link #backwardFrom} also copy qspark's
 * on-heap operands in and the results out, which a dispatch from qspark's executor would pay.
 * libnd4j's conv ops have no fused activation: a fused ReLU/Clip runs as qspark's own loop on the
 * copied-out output (nd4j's relu6 and clipbyvalue ops measured 25-100 ns per value on one thread).
 */
final class OneDnnConv implements AutoCloseable {
  /** nd4j's native build: the oneDNN + AVX-512 natives, not the plain ones. */
  static final String EXTENSION = "-onednn-avx512";

  static {
    System.setProperty("org.bytedeco.javacpp.platform.extension", EXTENSION);
  }

  private final INDArray x, w, b, y, dy, dx, dw, db;
  private final FloatBuffer xb, yb, dyb, dxb, dwb, dbb, wb;
  private final DynamicCustomOp fwd, bwd;
  private final Activation activation;

  /**
   * @param xShape NCHW input; {@code w} ONNX weights; {@code bias} or null; {@code activation} fused, or null
   */
  OneDnnConv(int[] xShape, float[] wData, int[] wShape, float[] bias, ConvGeometry geo, int group,
      Activation activation, int[] yShape) {
    int[] pads = geo.pads(xShape[2], xShape[3]);
    if (!supported(xShape, wShape, geo, group)) throw new IllegalArgumentException("not expressible in nd4j");
    boolean depthwise = group > 1;
    long[] ws = depthwise ? new long[] {1, wShape[0], wShape[2], wShape[3]} : toLong(wShape);
    x = Nd4j.create(DataType.FLOAT, toLong(xShape), 'c');
    w = Nd4j.create(DataType.FLOAT, ws, 'c');
    w.data().setData(wData);
    b = bias == null ? null : Nd4j.create(DataType.FLOAT, new long[] {wShape[0]}, 'c');
    if (b != null) b.data().setData(bias);
    y = Nd4j.create(DataType.FLOAT, toLong(yShape), 'c');
    dy = Nd4j.create(DataType.FLOAT, toLong(yShape), 'c');
    dx = Nd4j.create(DataType.FLOAT, toLong(xShape), 'c');
    dw = Nd4j.create(DataType.FLOAT, ws, 'c');
    db = bias == null ? null : Nd4j.create(DataType.FLOAT, new long[] {wShape[0]}, 'c');
    // kH, kW, sH, sW, pH, pW, dH, dW, padding mode (0: explicit), data format (0: NCHW), weight format (1: [oC, iC, kH, kW])
    int[] iargs = {geo.kh, geo.kw, geo.sh, geo.sw, pads[0], pads[1], geo.dh, geo.dw, 0, 0, 1};
    String name = depthwise ? "depthwise_conv2d" : "conv2d";
    List<INDArray> in = new ArrayList<>(List.of(x, w));
    if (b != null) in.add(b);
    fwd = DynamicCustomOp.builder(name).addInputs(in.toArray(new INDArray[0])).addOutputs(y).addIntegerArguments(iargs).build();
    List<INDArray> bin = new ArrayList<>(in);
    bin.add(dy);
    List<INDArray> bout = new ArrayList<>(List.of(dx, dw));
    if (db != null) bout.add(db);
    bwd = DynamicCustomOp.builder(name + "_bp").addInputs(bin.toArray(new INDArray[0]))
        .addOutputs(bout.toArray(new INDArray[0])).addIntegerArguments(iargs).build();
    this.activation = activation;
    xb = view(x);
    yb = view(y);
    dyb = view(dy);
    dxb = view(dx);
    dwb = view(dw);
    dbb = db == null ? null : view(db);
    wb = view(w);
  }

  /**
   * Whether nd4j's conv ops can express the layer: plain convs and depthwise ones (one channel
   * per group) only, and pads that are the same at both ends or only as large as the last
   * window needs (libnd4j derives the end pads from the output size).
   */
  static boolean supported(int[] xShape, int[] wShape, ConvGeometry geo, int group) {
    boolean depthwise = group > 1 && wShape[1] == 1 && wShape[0] == group && xShape[1] == group;
    if (group > 1 && !depthwise) return false;
    int[] p = geo.pads(xShape[2], xShape[3]);
    return p[2] <= p[0] && p[3] <= p[1];
  }

  /** The conv alone on the resident arrays. */
  void forward() {
    Nd4j.exec(fwd);
  }

  /** Backward (dX, dW, dB) on the resident arrays. */
  void backward() {
    Nd4j.exec(bwd);
  }

  /** The input copied in, {@link #forward}, the output copied into {@code out} and the fused activation applied there. */
  void forwardFrom(float[] in, float[] out) {
    xb.put(0, in);
    forward();
    yb.get(0, out);
    if (activation != null) activation.apply(out, 0, out.length);
  }

  /** Input, weights and output gradient copied in, {@link #backward}, the three gradients copied out. */
  void backwardFrom(float[] in, float[] weights, float[] gradOut, float[] gradIn, float[] gradW, float[] gradB) {
    xb.put(0, in);
    wb.put(0, weights);
    dyb.put(0, gradOut);
    backward();
    dxb.get(0, gradIn);
    dwb.get(0, gradW);
    if (gradB != null) dbb.get(0, gradB);
  }

  FloatBuffer input() {
    return xb;
  }

  FloatBuffer output() {
    return yb;
  }

  @Override
  public void close() {
    for (INDArray a : new INDArray[] {x, w, b, y, dy, dx, dw, db}) {
      if (a != null) a.close();
    }
  }

  private static FloatBuffer view(INDArray a) {
    return a.data().asNioFloat();
  }

  private static long[] toLong(int[] s) {
    long[] r = new long[s.length];
    for (int i = 0; i < s.length; i++) r[i] = s[i];
    return r;
  }

  /**
   * The threads libnd4j and oneDNN may use from the calling thread on: OpenMP's count for this
   * thread (oneDNN's parallel regions) and libnd4j's own limits.
   */
  static void threads(int n) {
    Nd4j.getEnvironment().setMaxThreads(n);
    Nd4j.getEnvironment().setMaxMasterThreads(n);
    NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(n);
  }

  /** What was loaded: the libnd4jcpu mapped into this process, and whether libnd4j routes ops to oneDNN. */
  static String describe() {
    String lib = "libnd4jcpu not mapped";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        int i = line.indexOf('/');
        if (i >= 0 && line.contains("libnd4jcpu.so")) {
          lib = line.substring(i);
          break;
        }
      }
    } catch (IOException e) {
      lib = "unknown (" + e.getMessage() + ")";
    }
    Nd4jCpu.Environment env = Nd4jCpu.Environment.getInstance();
    return "nd4j-native natives " + lib
        + ", oneDNN helpers " + (env.isUseONEDNN() && env.helpersAllowed() ? "on" : "OFF")
        + ", OpenMP threads " + NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.simd.VectorWidth;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.quant.FakeQuant;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Histogram;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.train.ActivationGrad;
import io.qspark.kernels.train.ConvGrad;
import io.qspark.kernels.train.Ste;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * What {@code VectorWidthTest} compares between JVMs: the outputs of every kernel on the Vector
 * API (convs and their gradients, BatchNorm's passes and sums, elementwise ops, masks,
 * fake-quant, histograms) on seeded inputs that take every path, as a SHA-256 of the output
 * bits per case. Run as a main
 * class it prints "bits N" (the width the kernels chose) and then "case digest" lines.
 */
public final class WidthProbe {
  private WidthProbe() {}

  public static void main(String[] args) throws Exception {
    System.out.println("bits " + VectorWidth.bits());
    for (Map.Entry<String, String> e : digests().entrySet()) System.out.println(e.getKey() + " " + e.getValue());
  }

  /** Case name to digest, in a fixed order. */
  static Map<String, String> digests() throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    // n, c, h, w, m, k, stride, pad, group, activation: the shapes of ConvChainOrderTest (every
    // DirectConv path) at sizes an emulated width still runs in seconds
    int[][] convs = {
        {2, 300, 7, 7, 24, 3, 1, 1, 1}, {1, 64, 14, 14, 20, 3, 1, 1, 1}, {2, 32, 14, 14, 16, 3, 2, 1, 1},
        {2, 300, 7, 7, 9, 1, 1, 0, 1}, {1, 40, 14, 14, 7, 1, 2, 0, 1}, {1, 8, 11, 11, 5, 7, 2, 3, 1},
        {1, 28, 5, 5, 300, 3, 1, 1, 1}, {2, 16, 14, 14, 16, 3, 1, 1, 16}, {1, 16, 28, 28, 8, 3, 1, 1, 2},
        {3, 40, 7, 7, 130, 3, 1, 1, 1}, {17, 8, 7, 7, 128, 3, 1, 1, 1}, {2, 24, 9, 9, 66, 3, 1, 1, 1},
        {3, 16, 7, 7, 64, 3, 1, 1, 1}, {2, 24, 13, 13, 24, 3, 2, 1, 24}, {2, 12, 6, 5, 12, 3, 1, 1, 12},
        {1, 6, 10, 9, 6, 5, 1, 2, 6}, {5, 24, 7, 7, 20, 1, 1, 0, 1}, {1, 3, 30, 30, 16, 3, 2, 1, 1}};
    String[] acts = {"none", "Relu", "Clip"};
    for (int i = 0; i < convs.length; i++) {
      int[] s = convs[i];
      String act = acts[i % acts.length];
      Random r = new Random(1000 + i);
      Tensor x = random(r, s[0], s[1], s[2], s[3]);
      Tensor wt = random(r, s[4], s[1] / s[8], s[5], s[5]);
      Tensor b = random(r, s[4]);
      Map<String, Object> a = new HashMap<>();
      a.put("strides", new long[] {s[6], s[6]});
      a.put("pads", new long[] {s[7], s[7], s[7], s[7]});
      a.put("group", (long) s[8]);
      if (!act.equals("none")) a.put("activation", act);
      if (act.equals("Clip")) {
        a.put("activation_min", 0f);
        a.put("activation_max", 6f);
      }
      Attributes attrs = new Attributes(a);
      Tensor y = new Conv(attrs, true).forward(new Tensor[] {x, wt, b})[0];
      String name = Arrays.toString(s) + " " + act;
      out.put("conv " + name, digest(y.data()));
      // its gradients: dW through the SIMD filter-gradient kernel (stride 1), the depthwise and
      // phase loops, dX through transposed convs on the forward kernels
      Tensor dy = random(r, y.shape());
      Tensor[] grads = new ConvGrad(attrs, true).backward(new Tensor[] {x, wt, b}, y, dy);
      out.put("conv grad dX " + name, digest(grads[0].data()));
      out.put("conv grad dW " + name, digest(grads[1].data()));
    }
    // Gemm (FixedOrderGemm): k below, at and past the 16 lanes, with and without transB
    int[][] gemms = {{3, 10, 5, 1}, {4, 7, 16, 1}, {5, 10, 64, 1}, {2, 33, 77, 0}, {64, 10, 1280, 1}};
    for (int i = 0; i < gemms.length; i++) {
      int[] g = gemms[i];
      Random r = new Random(2000 + i);
      Tensor a = random(r, g[0], g[2]);
      Tensor b = g[3] == 1 ? random(r, g[1], g[2]) : random(r, g[2], g[1]);
      Map<String, Object> at = new HashMap<>();
      at.put("transB", (long) g[3]);
      Tensor y = new Gemm(new io.qspark.kernels.graph.Attributes(at)).forward(new Tensor[] {a, b, random(r, g[1])})[0];
      out.put("gemm " + java.util.Arrays.toString(g), digest(y.data()));
    }
    // BatchNorm's sums on batch statistics, forward and backward (planes of 49, 196 and 784
    // values: lanes and tails), and its elementwise passes
    for (int inner : new int[] {49, 196, 784, 3}) {
      Random r = new Random(inner);
      int n = 5, c = 6;
      float[] z = random(r, n, c, inner).data(), dy = random(r, n, c, inner).data();
      float[] centers = random(r, c).data(), mul = random(r, c).data(), off = random(r, c).data();
      float[] d = new float[c];
      for (int i = 0; i < c; i++) d[i] = 1.5f + i;
      BatchNormLoops.Planes all = new BatchNormLoops.Planes(n, c, inner, 0, c);
      out.put("bn sums " + inner, digest(BatchNormLoops.sums(z, null, all)));
      out.put("bn squares " + inner, digest(BatchNormLoops.sums(z, centers, all)));
      for (Activation act : new Activation[] {null, Activation.clip(0f, 6f)}) {
        float[] g = new float[z.length];
        double[][] gs = BatchNormLoops.gradientSums(z, new BatchNormLoops.Forward(d, mul, off, act), dy, centers, g, all);
        out.put("bn gradient sums " + inner + " " + (act == null ? "none" : act.suffix()), digest(gs[0]) + digest(gs[1]) + digest(g));
      }
      float[] u = new float[z.length];
      BatchNormLoops.divide(z, d, u, all);
      BatchNormLoops.affine(u, mul, off, Activation.clip(0f, 6f), all);
      BatchNormLoops.gradientOutput(u, z, mul, off, centers, all);
      out.put("bn passes " + inner, digest(u));
    }
    // elementwise ops, masks, fake-quant and histogram keys over lengths with every tail
    for (int len : new int[] {1000, 37, 16}) {
      Random r = new Random(len);
      Tensor x = random(r, len), z = random(r, len);
      for (int i = 0; i < len; i += 7) x.data()[i] = -0f;
      out.put("relu " + len, digest(Activation.of("Relu", Attributes.empty()).forward(new Tensor[] {x})[0].data()));
      out.put("add " + len, digest(new Elementwise(Elementwise.Kind.ADD).forward(new Tensor[] {x, z})[0].data()));
      for (Rounding rounding : Rounding.values()) {
        FixPoint q = new FixPoint(4, 2, rounding);
        float[] f = new float[len];
        FakeQuant.apply(q, x.data(), f, 0, len);
        float[] g = z.data().clone();
        Ste.mask(q, x.data(), g, 0, len);
        out.put("fake quant " + rounding + " " + len, digest(f) + digest(g));
      }
      float[] g = z.data().clone();
      ActivationGrad.fromOutput(Activation.clip(0f, 1f), x.data(), g, 0, len);
      out.put("clip mask " + len, digest(g));
      Histogram h = new Histogram();
      h.update(x.data());
      out.put("histogram " + len, HexFormat.of().formatHex(h.toByteArray()));
    }
    return out;
  }

  static String digest(double[] v) throws Exception {
    float[] hi = new float[2 * v.length];
    for (int i = 0; i < v.length; i++) {
      long b = Double.doubleToRawLongBits(v[i]);
      hi[2 * i] = Float.intBitsToFloat((int) (b >>> 32));
      hi[2 * i + 1] = Float.intBitsToFloat((int) b);
    }
    return digest(hi);
  }

  static Tensor random(Random r, int... shape) {
    Tensor t = Tensor.zeros(shape);
    float[] d = t.data();
    for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
    return t;
  }

  static String digest(float[] v) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length);
    for (float f : v) bb.putInt(Float.floatToRawIntBits(f));
    md.update(bb.array());
    return HexFormat.of().formatHex(md.digest()).substring(0, 16);
  }
}

package io.qspark.kernels.ops;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;
import java.util.Arrays;

/**
 * 2-D convolution, NCHW. With the jdk.incubator.vector module, every conv runs on the SIMD
 * kernels of {@link DirectConv} (depthwise 3x3 convs on a kernel of their own); without it, or
 * with -Dqspark.conv=blas, dense and grouped convs are im2col + GEMM and depthwise convs, where a
 * GEMM would have a single row, a scalar direct loop. The second set is the reference the first
 * is tested against.
 */
public final class Conv implements Op {
  /**
   * The SIMD kernels need the jdk.incubator.vector module (--add-modules); without it, or with
   * -Dqspark.conv=blas, convs run as im2col + OpenBLAS and the scalar depthwise loop, which are
   * also the reference the SIMD kernels are tested against.
   */
  public static final boolean SIMD = !"blas".equals(System.getProperty("qspark.conv"))
      && io.qspark.kernels.simd.VectorApi.PRESENT;

  private final Attributes attrs;
  private final long group;
  private final Activation activation;

  private final boolean simd;
  /** Reduction steps per exactly summed chunk ({@link ExactConv}), 0 for the ordinary float sum. */
  private final int exactChunk;

  public Conv(Attributes attrs) {
    this(attrs, SIMD);
  }

  /** Tests pick the kernel; the fast one must match the reference on every input. */
  Conv(Attributes attrs, boolean simd) {
    this.simd = simd;
    this.attrs = attrs;
    this.group = attrs.getInt("group", 1);
    if (group < 1) throw new OpException("Conv: group must be >= 1");
    this.activation = Activation.fused(attrs);
    this.exactChunk = (int) attrs.getInt(ExactConv.CHUNK, 0);
  }

  private ConvGeometry geometry(int[] wShape) {
    return new ConvGeometry(attrs, wShape[2], wShape[3], "Conv");
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    Tensor w = in[1];
    Tensor b = in.length > 2 ? in[2] : null;
    if (x.rank() != 4 || w.rank() != 4) {
      throw new OpException("Conv: only 2-D convolution (4-D input and weight) is supported, got input "
          + Tensor.shapeString(x.shape()) + " weight " + Tensor.shapeString(w.shape()));
    }
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    int m = w.dim(0), cg = w.dim(1);
    int g = (int) group;
    if (cg * g != c || m % g != 0) {
      throw new OpException("Conv: input has " + c + " channels but weight " + Tensor.shapeString(w.shape())
          + " with group " + g + " expects " + (cg * g));
    }
    if (b != null && b.size() != m) {
      throw new OpException("Conv: bias has " + b.size() + " values for " + m + " output channels");
    }
    ConvShape s = ConvShape.of(x.shape(), w.shape(), g, geometry(w.shape()));
    int outLen = n * m * s.outHeight() * s.outWidth();
    boolean scalarDepthwise = exactChunk == 0 && cg == 1 && m == g && !simd;
    // every path assigns each output element but the scalar depthwise loop, which adds into it
    float[] out = scalarDepthwise ? Arena.floats(outLen) : Arena.overwritten(outLen);
    float[] bias = b == null ? null : b.data();
    if (exactChunk > 0) {
      exact(x.data(), w.data(), bias, out, s);
    } else if (cg == 1 && m == g) {
      if (simd) {
        DirectConv.depthwise(x.data(), w.data(), bias, out, s, activation);
      } else {
        depthwise(x.data(), w.data(), bias, out, s);
        if (activation != null) activation.apply(out, 0, out.length);
      }
    } else {
      if (simd) {
        DirectConv.run(x.data(), w.data(), bias, out, s, activation);
      } else {
        im2colGemm(x.data(), w.data(), bias, out, s, activation);
      }
    }
    return new Tensor[] {Tensor.of(out, s.output())};
  }

  /**
   * The exact sum of products plus the bias, rounded once to float: equal to the exact value
   * while that fits float's significand, and beyond it a float of the same sign and at least
   * 2^24 units, which every quantizer then saturates alike.
   */
  private void exact(float[] x, float[] w, float[] bias, float[] out, ConvShape s) {
    double[] sums = new double[out.length];
    ExactConv.sums(x, w, sums, s, exactChunk);
    int p = s.outHeight() * s.outWidth(), m = s.outChannels();
    for (int i = 0; i < out.length; i++) out[i] = (float) (sums[i] + (bias == null ? 0.0 : bias[(i / p) % m]));
    if (activation != null) activation.apply(out, 0, out.length);
  }

  /**
   * One GEMM per image and group: an image's result then never depends on which other images
   * share its batch (calibration must not change with partitioning), and one image's unfolded
   * input stays in L2. Parallelism comes from running images on several threads (Executor).
   */
  private static void im2colGemm(float[] x, float[] w, float[] bias, float[] out, ConvShape s, Activation act) {
    final int n = s.batch(), m = s.outChannels(), g = s.groups(), mg = s.groupOutChannels();
    final ConvGeometry geo = s.geometry();
    final int[] pads = s.pads();
    ConvWorkspace ws = ConvWorkspace.of(w, s);
    final int k = ws.k, p = ws.p;
    GemmShape gemm = GemmShape.of(false, false, mg, p, k);
    boolean pointwise = geo.kh == 1 && geo.kw == 1 && geo.sh == 1 && geo.sw == 1 && pads[0] == 0
        && pads[1] == 0 && pads[2] == 0 && pads[3] == 0;
    for (int ni = 0; ni < n; ni++) {
      for (int gi = 0; gi < g; gi++) {
        if (pointwise) {
          ws.colBuffer.put(0, x, ws.inputBase(ni, gi), k * p); // a 1x1 conv reads the input as it lies
        } else {
          ws.unfold(x, ni, gi);
        }
        ws.weights.position((long) gi * mg * k);
        Blas.sgemm(gemm, 1f, ws.weights, ws.colPointer.position(0), 0f, ws.resultPointer.position(0));
        int dst = (ni * m + gi * mg) * p;
        ws.result.get(0, out, dst, mg * p);
        for (int mi = 0; mi < mg; mi++) {
          int o = dst + mi * p;
          if (bias != null) {
            float bv = bias[gi * mg + mi];
            for (int i = o; i < o + p; i++) out[i] += bv;
          }
          // applied while the block is still in cache
          if (act != null) act.apply(out, o, o + p);
        }
      }
    }
    ws.rewind();
  }

  /**
   * Unfolds one image's group of channels (x[base..], {@code s.groupChannels()} planes) into rows
   * of {@code col}: row (ci, ki, kj) holds the input under that kernel tap for every output
   * position, at column offset {@code colOff} of a row of length {@code ld}.
   */
  public static void im2col(float[] x, int base, ConvShape s, float[] col, int colOff, int ld) {
    final int cg = s.groupChannels(), h = s.height(), w = s.width(), oh = s.outHeight(), ow = s.outWidth();
    final ConvGeometry geo = s.geometry();
    final int padTop = s.padTop(), padLeft = s.padLeft();
    int row = 0;
    for (int ci = 0; ci < cg; ci++) {
      int cbase = base + ci * h * w;
      for (int ki = 0; ki < geo.kh; ki++) {
        for (int kj = 0; kj < geo.kw; kj++, row++) {
          int dst = row * ld + colOff;
          int xoff = kj * geo.dw - padLeft;
          // output columns whose input column lies inside the image
          int oxLo = xoff >= 0 ? 0 : (-xoff + geo.sw - 1) / geo.sw;
          int oxHi = Math.min(ow, xoff >= w ? 0 : (w - 1 - xoff) / geo.sw + 1);
          if (oxHi < oxLo) oxHi = oxLo;
          for (int oy = 0; oy < oh; oy++, dst += ow) {
            int iy = oy * geo.sh - padTop + ki * geo.dh;
            if (iy < 0 || iy >= h) {
              Arrays.fill(col, dst, dst + ow, 0f);
              continue;
            }
            for (int i = 0; i < oxLo; i++) col[dst + i] = 0f;
            int src = cbase + iy * w + xoff;
            if (geo.sw == 1) {
              System.arraycopy(x, src + oxLo, col, dst + oxLo, oxHi - oxLo);
            } else {
              for (int ox = oxLo; ox < oxHi; ox++) col[dst + ox] = x[src + ox * geo.sw];
            }
            for (int i = oxHi; i < ow; i++) col[dst + i] = 0f;
          }
        }
      }
    }
  }

  /**
   * Adds the columns of {@code col} (rows (ci, ki, kj), row length ld, starting at colOff) back
   * to the input positions of one image's group of channels (dx[base..]) they were read from:
   * the adjoint of {@link #im2col}. A conv's input gradient, and a transposed conv (whose
   * output is the input of the conv s describes).
   */
  public static void col2im(float[] col, int colOff, int ld, ConvShape s, float[] dx, int base) {
    final int cg = s.groupChannels(), h = s.height(), w = s.width(), oh = s.outHeight(), ow = s.outWidth();
    final ConvGeometry geo = s.geometry();
    final int padTop = s.padTop(), padLeft = s.padLeft();
    int row = 0;
    for (int ci = 0; ci < cg; ci++) {
      int cbase = base + ci * h * w;
      for (int ki = 0; ki < geo.kh; ki++) {
        for (int kj = 0; kj < geo.kw; kj++, row++) {
          int src = row * ld + colOff;
          int xoff = kj * geo.dw - padLeft;
          int oxLo = xoff >= 0 ? 0 : (-xoff + geo.sw - 1) / geo.sw;
          int oxHi = Math.min(ow, xoff >= w ? 0 : (w - 1 - xoff) / geo.sw + 1);
          for (int oy = 0; oy < oh; oy++, src += ow) {
            int iy = oy * geo.sh - padTop + ki * geo.dh;
            if (iy < 0 || iy >= h) continue;
            int dst = cbase + iy * w + xoff;
            for (int ox = oxLo; ox < oxHi; ox++) dx[dst + ox * geo.sw] += col[src + ox];
          }
        }
      }
    }
  }

  private static void depthwise(float[] x, float[] w, float[] bias, float[] out, ConvShape shape) {
    final int n = shape.batch(), c = shape.channels(), h = shape.height(), wd = shape.width();
    final int oh = shape.outHeight(), ow = shape.outWidth();
    final ConvGeometry geo = shape.geometry();
    final int[] pads = shape.pads();
    int kk = geo.kh * geo.kw;
    float[] acc = new float[ow];
    for (int ni = 0; ni < n; ni++) {
      for (int ch = 0; ch < c; ch++) {
        int xb = (ni * c + ch) * h * wd;
        int ob = (ni * c + ch) * oh * ow;
        int wb = ch * kk;
        float bv = bias == null ? 0f : bias[ch];
        for (int oy = 0; oy < oh; oy++) {
          Arrays.fill(acc, 0f);
          for (int ki = 0; ki < geo.kh; ki++) {
            int iy = oy * geo.sh - pads[0] + ki * geo.dh;
            if (iy < 0 || iy >= h) continue;
            int rowb = xb + iy * wd;
            for (int kj = 0; kj < geo.kw; kj++) {
              float wv = w[wb + ki * geo.kw + kj];
              int xoff = kj * geo.dw - pads[1];
              int oxLo = xoff >= 0 ? 0 : (-xoff + geo.sw - 1) / geo.sw;
              int oxHi = Math.min(ow, xoff >= wd ? 0 : (wd - 1 - xoff) / geo.sw + 1);
              if (geo.sw == 1) {
                int s = rowb + xoff;
                for (int ox = oxLo; ox < oxHi; ox++) acc[ox] += wv * x[s + ox];
              } else {
                for (int ox = oxLo; ox < oxHi; ox++) acc[ox] += wv * x[rowb + ox * geo.sw + xoff];
              }
            }
          }
          int o = ob + oy * ow;
          for (int ox = 0; ox < ow; ox++) out[o + ox] = acc[ox] + bv;
        }
      }
    }
  }

  @Override
  public long macs(int[][] in, int[][] out) {
    int[] w = in[1];
    return (long) Shapes.size(out[0]) * w[1] * w[2] * w[3];
  }

  @Override
  public String describe() {
    long[] k = attrs.getInts("kernel_shape", null);
    String geo = new ConvGeometry(attrs, k == null ? 0 : (int) k[0], k == null ? 0 : (int) k[1], "Conv").describe();
    return (k == null ? geo.replace("k=0x0", "").trim() : geo) + (group != 1 ? " g=" + group : "")
        + (activation != null ? " " + activation.suffix() : "");
  }
}

package io.qspark.kernels.train;

import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.tensor.Tensor;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Backward of a 2-D Conv (dense, grouped, depthwise; any stride, padding, dilation) with its
 * fused activation. Per group and block of images, on the im2col unfolding of the block's images
 * side by side (one large GEMM rather than one per image, as {@link LayerFit}):
 * backward-filter dW += dY col^T and backward-data dcol = W^T dY are GEMMs (cblas_sgemm on
 * preallocated off-heap buffers), and col2im ({@link Conv#col2im}), the adjoint of im2col, scatters dcol back to dX.
 * Stride-1 convs skip the columns: dW comes from {@link ShiftedFilterGrad}, dX from a transposed
 * conv; strided convs take dX per phase of their input ({@link PolyphaseConvGrad}), depthwise
 * ones both gradients by direct loops ({@link DepthwiseConvGrad}). The columns stay reachable as
 * the reference these are tested against.
 */
public final class ConvGrad implements OpGrad {
  /** Floats of one im2col block (4 MB): several small images share a GEMM, large ones go alone. */
  static final int BLOCK = 1 << 20;

  private final Attributes attrs;
  private final int group;
  private final Activation activation;
  private final boolean inputGradient;
  private final boolean shifted;

  public ConvGrad(Attributes attrs) {
    this(attrs, true);
  }

  /** @param inputGradient false where the input is data no gradient is wanted for (a network's first conv) */
  public ConvGrad(Attributes attrs, boolean inputGradient) {
    this(attrs, inputGradient, true);
  }

  /**
   * @param shifted false to take the weight gradient of stride-1 convs, and both gradients of
   *     strided ones, through im2col: the reference {@link ShiftedFilterGrad} and
   *     {@link PolyphaseConvGrad} are tested against
   */
  ConvGrad(Attributes attrs, boolean inputGradient, boolean shifted) {
    this.shifted = shifted;
    this.inputGradient = inputGradient;
    this.attrs = attrs;
    this.group = (int) attrs.getInt("group", 1);
    this.activation = Activation.fused(attrs);
  }

  public ConvGeometry geometry(int[] wShape) {
    return new ConvGeometry(attrs, wShape[2], wShape[3], "Conv");
  }

  public int group() {
    return group;
  }

  public Activation activation() {
    return activation;
  }

  @Override
  public Tensor[] backward(Tensor[] in, Tensor out, Tensor dyT) {
    Tensor x = in[0], w = in[1];
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    int m = w.dim(0), cg = w.dim(1), g = group, mg = m / g;
    ConvGeometry geo = geometry(w.shape());
    int[] pads = geo.pads(h, wd);
    int oh = out.dim(2), ow = out.dim(3), p = oh * ow;
    ConvShape shape = new ConvShape(x.shape(), out.shape(), g, geo, pads);
    // dY is read-only below: a copy only for the fused activation's mask
    float[] dy = dyT.data();
    if (activation != null) {
      dy = dy.clone();
      ActivationGrad.fromOutput(activation, out.data(), dy, 0, dy.length);
    }
    boolean hasBias = in.length > 2 && in[2] != null;
    // stride 1: dX is itself a convolution (below), so the blocks need only the weight gradient
    int eh = geo.dh * (geo.kh - 1), ew = geo.dw * (geo.kw - 1);
    boolean byConv = geo.sh == 1 && geo.sw == 1 && Math.max(pads[0], pads[2]) <= eh && Math.max(pads[1], pads[3]) <= ew;
    // strided convs, as measured by StridedConvGradBench: depthwise ones by direct loops (1.7x
    // the columns); the input gradient of kxk ones per phase plane by the forward Conv (a tie
    // with the columns, 0.93-1.07x, without their k x (H W) gradient buffer); their weight
    // gradient, and both of pointwise ones, by the columns, which tie or beat the phase planes'
    // stride-1 weight gradient on these small planes (0.79-1.03x)
    boolean strided = geo.sh > 1 || geo.sw > 1;
    boolean direct = shifted && strided && cg == 1 && mg == 1;
    boolean phaseDx = shifted && strided && !direct && inputGradient && geo.kh * geo.kw > 1;
    boolean dcol = inputGradient && !byConv && !phaseDx && !direct;
    // stride 1 and no column gradient wanted: dW straight from the padded planes, no im2col
    boolean noColumns = direct || shifted && geo.sh == 1 && geo.sw == 1 && !dcol;
    // the paths that accumulate into dX; the others return their own
    float[] dx = dcol || direct && inputGradient ? new float[x.size()] : null;
    float[] x0 = x.data();
    float[] db = hasBias ? biasGradient(dy, n, m, p) : null;
    float[] dw;
    if (direct) {
      dw = new float[w.size()];
      DepthwiseConvGrad.backward(x0, w.data(), dy, shape, dw, dx);
    } else if (noColumns) {
      dw = new ShiftedFilterGrad(shape).weightGradient(x0, dy);
    } else {
      dw = columns(x0, dy, w, shape, dx);
    }
    if (phaseDx) dx = new PolyphaseConvGrad(shape).inputGradient(dy, w.data());
    if (inputGradient && byConv) dx = transposedConv(dy, w, shape);
    Tensor[] r = new Tensor[in.length];
    if (inputGradient) r[0] = Tensor.of(dx, x.shape());
    r[1] = Tensor.of(dw, w.shape());
    if (hasBias) r[2] = Tensor.of(db, m);
    return r;
  }

  /**
   * dW by the columns: per group and block of images, im2col of the block side by side and one
   * GEMM; with dx, also dcol = W^T dY scattered back by col2im (added into dx).
   */
  private float[] columns(float[] x0, float[] dy, Tensor w, ConvShape shape, float[] dx) {
    final int n = shape.batch(), c = shape.channels(), h = shape.height(), wd = shape.width();
    final ConvGeometry geo = shape.geometry();
    int m = w.dim(0), cg = w.dim(1), g = group, mg = m / g, p = shape.outHeight() * shape.outWidth(), k = cg * geo.kh * geo.kw;
    // images per GEMM: a fixed function of the layer's shape (not of threads or partitions), so
    // the summation order, and with it every bit of the result, is the same in any run
    int imgs = Math.max(1, Math.min(n, BLOCK / Math.max(1, k * p)));
    Scratch s = Scratch.get();
    FloatPointer wp = s.load(0, w.data(), 0, w.size());
    FloatPointer dwp = s.pointer(1, w.size());
    FloatBuffer dwb = s.buffer(1, w.size());
    for (int i = 0; i < w.size(); i++) dwb.put(i, 0f);
    long colLen = (long) k * imgs * p;
    FloatPointer colP = s.pointer(2, colLen);
    FloatBuffer colB = s.buffer(2, colLen);
    FloatPointer dcolP = s.pointer(3, colLen);
    FloatBuffer dcolB = s.buffer(3, colLen);
    FloatPointer dyP = s.pointer(4, (long) mg * imgs * p);
    FloatBuffer dyB = s.buffer(4, (long) mg * imgs * p);
    float[] col = s.array((int) colLen);
    for (int i0 = 0; i0 < n; i0 += imgs) {
      int nb = Math.min(imgs, n - i0), ld = nb * p;
      // dW += dY col^T (mg x k, summed over the block's ld columns); dcol = W^T dY (k x ld)
      GemmShape filter = GemmShape.of(false, true, mg, k, ld), data = GemmShape.of(true, false, k, ld, mg);
      for (int gi = 0; gi < g; gi++) {
        // the block's images side by side: col is k x (nb p), dY is mg x (nb p)
        for (int b = 0; b < nb; b++) {
          Conv.im2col(x0, ((i0 + b) * c + gi * cg) * h * wd, shape, col, b * p, ld);
          for (int mi = 0; mi < mg; mi++) {
            int yo = ((i0 + b) * m + gi * mg + mi) * p;
            dyB.put(mi * ld + b * p, dy, yo, p);
          }
        }
        colB.put(0, col, 0, k * ld);
        long wOff = (long) gi * mg * k;
        Scratch.sgemm(filter, dyP, 0, colP, 0, 1f, dwp, wOff);
        if (dx == null) continue;
        Scratch.sgemm(data, wp, wOff, dyP, 0, 0f, dcolP, 0);
        dcolB.get(0, col, 0, k * ld);
        for (int b = 0; b < nb; b++) {
          Conv.col2im(col, b * p, ld, shape, dx, ((i0 + b) * c + gi * cg) * h * wd);
        }
      }
    }
    float[] dw = new float[w.size()];
    dwb.get(0, dw, 0, dw.length);
    return dw;
  }

  /**
   * dB: per image and channel a sum in eight independent partial sums (a single running sum
   * waits on the adder's latency at every element), then across images in order.
   */
  private static float[] biasGradient(float[] dy, int n, int m, int p) {
    float[] db = new float[m];
    for (int i = 0; i < n; i++) {
      for (int mi = 0; mi < m; mi++) {
        int yo = (i * m + mi) * p, end = yo + p, j = yo;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f, s5 = 0f, s6 = 0f, s7 = 0f;
        for (; j + 8 <= end; j += 8) {
          s0 += dy[j];
          s1 += dy[j + 1];
          s2 += dy[j + 2];
          s3 += dy[j + 3];
          s4 += dy[j + 4];
          s5 += dy[j + 5];
          s6 += dy[j + 6];
          s7 += dy[j + 7];
        }
        float acc = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        for (; j < end; j++) acc += dy[j];
        db[mi] += acc;
      }
    }
    return db;
  }

  /**
   * dX of a stride-1 conv as the forward Conv (its SIMD kernels) of dY with the weight rotated by
   * 180 degrees and input and output channels swapped within each group, padded by the dilated
   * kernel's extent less the forward pads: the sum over (output channel, tap) that col2im would
   * scatter, gathered instead, with no k x (H W) column matrix in between.
   */
  private float[] transposedConv(float[] dy, Tensor w, ConvShape shape) {
    final int n = shape.batch(), m = shape.outChannels(), oh = shape.outHeight(), ow = shape.outWidth();
    final ConvGeometry geo = shape.geometry();
    final int[] pads = shape.pads();
    int cg = w.dim(1), g = group, mg = m / g, kh = geo.kh, kw = geo.kw;
    float[] wd = w.data(), wt = new float[w.size()];
    for (int gi = 0; gi < g; gi++) {
      for (int mo = 0; mo < mg; mo++) {
        for (int ci = 0; ci < cg; ci++) {
          int src = ((gi * mg + mo) * cg + ci) * kh * kw, dst = ((gi * cg + ci) * mg + mo) * kh * kw;
          for (int a = 0; a < kh * kw; a++) wt[dst + kh * kw - 1 - a] = wd[src + a];
        }
      }
    }
    int eh = geo.dh * (kh - 1), ew = geo.dw * (kw - 1);
    Attributes a = Attributes.empty()
        .with("pads", new long[] {eh - pads[0], ew - pads[1], eh - pads[2], ew - pads[3]})
        .with("dilations", new long[] {geo.dh, geo.dw})
        .with("group", (long) g);
    Tensor t = new Conv(a).forward(new Tensor[] {Tensor.of(dy, n, m, oh, ow), Tensor.of(wt, g * cg, mg, kh, kw)})[0];
    return t.data();
  }
}

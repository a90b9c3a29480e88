package io.qspark.kernels.train;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.tensor.Tensor;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Backward of a 2-D Conv (dense, grouped, depthwise; any stride, padding, dilation) with its
 * fused activation. Per image and group, on the forward pass's own im2col unfolding:
 * backward-filter dW += dY col^T and backward-data dcol = W^T dY are GEMMs (cblas_sgemm on
 * preallocated off-heap buffers), and col2im, the adjoint of im2col, scatters dcol back to dX.
 */
public final class ConvGrad implements OpGrad {
  private final Attributes attrs;
  private final int group;
  private final Activation activation;

  public ConvGrad(Attributes attrs) {
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
    int k = cg * geo.kh * geo.kw;
    float[] dy = dyT.data().clone();
    ActivationGrad.fromOutput(activation, out.data(), dy, 0, dy.length);
    float[] dx = new float[x.size()];
    float[] db = new float[m];
    Scratch s = Scratch.get();
    FloatPointer wp = s.load(0, w.data(), 0, w.size());
    FloatPointer dwp = s.pointer(1, w.size());
    FloatBuffer dwb = s.buffer(1, w.size());
    for (int i = 0; i < w.size(); i++) dwb.put(i, 0f);
    FloatPointer colP = s.pointer(2, (long) k * p);
    FloatBuffer colB = s.buffer(2, (long) k * p);
    FloatPointer dcolP = s.pointer(3, (long) k * p);
    FloatBuffer dcolB = s.buffer(3, (long) k * p);
    FloatPointer dyP = s.pointer(4, (long) mg * p);
    float[] col = new float[k * p];
    float[] x0 = x.data();
    for (int ni = 0; ni < n; ni++) {
      for (int gi = 0; gi < g; gi++) {
        int xBase = (ni * c + gi * cg) * h * wd;
        Conv.im2col(x0, xBase, cg, h, wd, oh, ow, geo, pads, col, 0, p);
        colB.put(0, col, 0, k * p);
        int yBase = (ni * m + gi * mg) * p;
        s.load(4, dy, yBase, mg * p);
        long wOff = (long) gi * mg * k;
        Scratch.sgemm(false, true, mg, k, p, dyP, 0, p, colP, 0, p, 1f, dwp, wOff, k);
        Scratch.sgemm(true, false, k, p, mg, wp, wOff, k, dyP, 0, p, 0f, dcolP, 0, p);
        dcolB.get(0, col, 0, k * p);
        col2im(col, 0, p, cg, h, wd, oh, ow, geo, pads, dx, xBase);
        for (int mi = 0; mi < mg; mi++) {
          float acc = 0f;
          for (int i = yBase + mi * p; i < yBase + (mi + 1) * p; i++) acc += dy[i];
          db[gi * mg + mi] += acc;
        }
      }
    }
    float[] dw = new float[w.size()];
    dwb.get(0, dw, 0, dw.length);
    Tensor[] r = new Tensor[in.length];
    r[0] = Tensor.of(dx, x.shape());
    r[1] = Tensor.of(dw, w.shape());
    if (in.length > 2 && in[2] != null) r[2] = Tensor.of(db, m);
    return r;
  }

  /**
   * Adds the columns of {@code col} (rows (ci, ki, kj), row length ld, starting at colOff) back
   * to the input positions they were read from: the adjoint of {@link Conv#im2col}.
   */
  public static void col2im(float[] col, int colOff, int ld, int cg, int h, int w, int oh, int ow,
      ConvGeometry geo, int[] pads, float[] dx, int base) {
    int row = 0;
    for (int ci = 0; ci < cg; ci++) {
      int cbase = base + ci * h * w;
      for (int ki = 0; ki < geo.kh; ki++) {
        for (int kj = 0; kj < geo.kw; kj++, row++) {
          int src = row * ld + colOff;
          int xoff = kj * geo.dw - pads[1];
          int oxLo = xoff >= 0 ? 0 : (-xoff + geo.sw - 1) / geo.sw;
          int oxHi = Math.min(ow, xoff >= w ? 0 : (w - 1 - xoff) / geo.sw + 1);
          for (int oy = 0; oy < oh; oy++, src += ow) {
            int iy = oy * geo.sh - pads[0] + ki * geo.dh;
            if (iy < 0 || iy >= h) continue;
            int dst = cbase + iy * w + xoff;
            for (int ox = oxLo; ox < oxHi; ox++) dx[dst + ox * geo.sw] += col[src + ox];
          }
        }
      }
    }
  }
}

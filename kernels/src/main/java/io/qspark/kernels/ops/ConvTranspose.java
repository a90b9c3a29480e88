package io.qspark.kernels.ops;

import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Tensor;

/**
 * 2-D transposed convolution, NCHW, weight [C, M/group, kh, kw]. Per image and group one GEMM
 * W^T x X gives every kernel tap's contribution at every input position ([M/g * kh * kw] x
 * [H * W]); col2im, the input gradient of the conv from output to input, then scatter-adds
 * them into the output.
 */
public final class ConvTranspose implements Op {
  private final Attributes attrs;
  private final int group;
  private final int[] outputPadding;
  private final int[] outputShape;

  public ConvTranspose(Attributes a) {
    this.attrs = a;
    long g = a.getInt("group", 1);
    if (g < 1) throw new OpException("ConvTranspose: group must be >= 1");
    this.group = (int) g;
    long[] op = a.getInts("output_padding", new long[] {0, 0});
    if (op.length != 2) {
      throw new OpException("ConvTranspose: only 2-D is supported, output_padding has " + op.length + " values");
    }
    this.outputPadding = new int[] {(int) op[0], (int) op[1]};
    long[] os = a.getInts("output_shape", null);
    if (os != null && os.length != 2 && os.length != 4) {
      throw new OpException("ConvTranspose: only 2-D is supported, output_shape has " + os.length + " values");
    }
    // some exporters give the full NCHW shape; only the spatial part matters
    this.outputShape = os == null ? null
        : new int[] {(int) os[os.length - 2], (int) os[os.length - 1]};
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor x = in[0];
    Tensor w = in[1];
    Tensor b = in.length > 2 ? in[2] : null;
    if (x.rank() != 4 || w.rank() != 4) {
      throw new OpException("ConvTranspose: only 2-D (4-D input and weight) is supported, got input "
          + Tensor.shapeString(x.shape()) + " weight " + Tensor.shapeString(w.shape()));
    }
    int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    int g = group;
    if (w.dim(0) != c || c % g != 0) {
      throw new OpException("ConvTranspose: input has " + c + " channels, weight "
          + Tensor.shapeString(w.shape()) + " with group " + g + " expects " + w.dim(0));
    }
    int mg = w.dim(1), m = mg * g, cg = c / g;
    if (b != null && b.size() != m) {
      throw new OpException("ConvTranspose: bias has " + b.size() + " values for " + m + " output channels");
    }
    ConvGeometry geo = new ConvGeometry(attrs, w.dim(2), w.dim(3), "ConvTranspose");
    int[] t = geo.transposed(h, wd, outputPadding, outputShape);
    int oh = t[4], ow = t[5];
    int kk = geo.kh * geo.kw;
    int hw = h * wd, ohw = oh * ow;
    float[] out = new float[n * m * ohw];
    if (b != null) {
      float[] bd = b.data();
      for (int i = 0; i < n * m; i++) java.util.Arrays.fill(out, i * ohw, (i + 1) * ohw, bd[i % m]);
    }
    float[] col = new float[mg * kk * hw];
    // col2im scatters as the input gradient of the conv from this output back to this input
    ConvShape back = new ConvShape(new int[] {n, m, oh, ow}, new int[] {n, c, h, wd}, g, geo,
        new int[] {t[0], t[1], t[2], t[3]});
    float[] xd = x.data(), wdata = w.data();
    GemmShape gemm = GemmShape.of(true, false, mg * kk, hw, cg);
    for (int ni = 0; ni < n; ni++) {
      for (int gi = 0; gi < g; gi++) {
        // weight slice [cg, mg*kk] read transposed: col = W_g^T * X_g
        Gemm.matmul(gemm, 1f, wdata, gi * cg * mg * kk, xd, (ni * c + gi * cg) * hw, col, 0);
        Conv.col2im(col, 0, hw, back, out, (ni * m + gi * mg) * ohw);
      }
    }
    return new Tensor[] {Tensor.of(out, n, m, oh, ow)};
  }

  @Override
  public long macs(int[][] in, int[][] out) {
    int[] x = in[0];
    int[] w = in[1];
    return (long) x[0] * x[2] * x[3] * w[0] * w[1] * w[2] * w[3];
  }

  @Override
  public String describe() {
    long[] k = attrs.getInts("kernel_shape", null);
    String geo = new ConvGeometry(attrs, k == null ? 0 : (int) k[0], k == null ? 0 : (int) k[1],
        "ConvTranspose").describe();
    return (k == null ? geo.replace("k=0x0", "").trim() : geo) + (group != 1 ? " g=" + group : "");
  }
}

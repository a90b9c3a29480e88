package io.qspark.kernels.ops;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.blas.Workspace;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;

/** ONNX Gemm: Y = alpha * op(A) * op(B) + beta * C, C broadcast to Y. */
public final class Gemm implements Op {
  private final float alpha;
  private final float beta;
  private final boolean transA;
  private final boolean transB;
  private final Activation activation;
  /** Reduction steps per exactly summed chunk ({@link ExactConv}), 0 for the ordinary float sum. */
  private final int exactChunk;

  public Gemm(Attributes a) {
    this.exactChunk = (int) a.getInt(ExactConv.CHUNK, 0);
    this.activation = Activation.fused(a);
    this.alpha = a.getFloat("alpha", 1f);
    this.beta = a.getFloat("beta", 1f);
    this.transA = a.getInt("transA", 0) != 0;
    this.transB = a.getInt("transB", 0) != 0;
  }

  @Override
  public Tensor[] forward(Tensor[] in) {
    Tensor a = in[0];
    Tensor b = in[1];
    Tensor c = in.length > 2 ? in[2] : null;
    if (a.rank() != 2 || b.rank() != 2) {
      throw new OpException("Gemm: inputs must be 2-D, got " + Tensor.shapeString(a.shape())
          + " and " + Tensor.shapeString(b.shape()));
    }
    int m = transA ? a.dim(1) : a.dim(0);
    int k = transA ? a.dim(0) : a.dim(1);
    int kb = transB ? b.dim(1) : b.dim(0);
    int n = transB ? b.dim(0) : b.dim(1);
    if (k != kb) {
      throw new OpException("Gemm: inner dimensions differ: A " + Tensor.shapeString(a.shape())
          + (transA ? "^T" : "") + " x B " + Tensor.shapeString(b.shape()) + (transB ? "^T" : ""));
    }
    float[] y = Arena.floats(m * n);
    if (exactChunk > 0 && !transA && alpha == 1f) {
      exact(a.data(), b.data(), c, y, m, n, k);
      if (activation != null) activation.apply(y, 0, y.length);
      return new Tensor[] {Tensor.of(y, m, n)};
    }
    // rows of A and of B transposed, as FixedOrderGemm reads them (ONNX exports of Linear layers have transB = 1)
    float[] ar = transA ? transpose(a.data(), k, m) : a.data();
    float[] bt = transB ? b.data() : transpose(b.data(), k, n);
    FixedOrderGemm.rows(ar, 0, bt, y, m, n, k, alpha);
    if (c != null && beta != 0f) {
      int[] cs = c.shape();
      int[] ys = {m, n};
      Shapes.broadcast(cs, ys);
      int[] st = Shapes.broadcastStrides(cs, ys);
      float[] cd = c.data();
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) y[i * n + j] += beta * cd[i * st[0] + j * st[1]];
      }
    }
    if (activation != null) activation.apply(y, 0, y.length);
    return new Tensor[] {Tensor.of(y, m, n)};
  }

  /** The [cols, rows] transpose of a row-major [rows, cols] matrix. */
  private static float[] transpose(float[] x, int rows, int cols) {
    float[] t = new float[x.length];
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
    return t;
  }

  /** The exact value of A * op(B) + beta * C, rounded once to float (as Conv's exact path). */
  private void exact(float[] a, float[] b, Tensor c, float[] y, int m, int n, int k) {
    float[] w = b;
    if (!transB) {
      w = new float[n * k];
      for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) w[j * k + i] = b[i * n + j];
    }
    double[] d = new double[m * n];
    ExactConv.dots(a, w, d, m, k, n, exactChunk);
    int[] st = null;
    if (c != null && beta != 0f) {
      int[] cs = c.shape();
      Shapes.broadcast(cs, new int[] {m, n});
      st = Shapes.broadcastStrides(cs, new int[] {m, n});
    }
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double v = d[i * n + j];
        if (st != null) v += (double) beta * c.data()[i * st[0] + j * st[1]];
        y[i * n + j] = (float) v;
      }
    }
  }

  /**
   * y[yOff..] = alpha * op(a) * op(b) for contiguous row-major operands of shape s
   * ({@link GemmShape#of}), through BLAS on off-heap copies. Shared with MatMul and ConvTranspose.
   */
  static void matmul(GemmShape s, float alpha, float[] a, int aOff, float[] b, int bOff, float[] y, int yOff) {
    final int m = s.m(), n = s.n(), k = s.k();
    Workspace ws = load(s, a, aOff, b, bOff);
    Blas.sgemm(s, alpha, ws.pointer(0, (long) m * k), ws.pointer(1, (long) k * n), 0f, ws.pointer(2, (long) m * n));
    ws.buffer(2, (long) m * n).get(0, y, yOff, m * n);
  }

  /**
   * The same with a's rows images of the batch: one BLAS call per row (unless a is read
   * transposed). OpenBLAS sums a row differently when it falls in the tail of its M blocking, so
   * a whole-batch call would give an image's logits bits that depend on its position in the
   * batch, and with it on Spark's partitioning. The rows are the small fully connected layers at
   * a network's end, where the per-call cost does not show.
   */
  static void matmulByRows(GemmShape s, float alpha, float[] a, int aOff, float[] b, int bOff, float[] y, int yOff) {
    if (s.transA() || s.m() <= 1) {
      matmul(s, alpha, a, aOff, b, bOff, y, yOff);
      return;
    }
    final int m = s.m(), n = s.n(), k = s.k();
    Workspace ws = load(s, a, aOff, b, bOff);
    FloatPointer ap = ws.pointer(0, (long) m * k);
    FloatPointer bp = ws.pointer(1, (long) k * n);
    FloatPointer yp = ws.pointer(2, (long) m * n);
    GemmShape row1 = GemmShape.of(false, s.transB(), 1, n, k);
    for (int i = 0; i < m; i++) {
      FloatPointer row = new FloatPointer(ap).position((long) i * k);
      FloatPointer out = new FloatPointer(yp).position((long) i * n);
      Blas.sgemm(row1, alpha, row, bp, 0f, out);
    }
    ws.buffer(2, (long) m * n).get(0, y, yOff, m * n);
  }

  /** The operands of a contiguous GEMM of shape s copied into the thread's workspace (slots 0 and 1), slot 2 made room for the product. */
  private static Workspace load(GemmShape s, float[] a, int aOff, float[] b, int bOff) {
    final int m = s.m(), n = s.n(), k = s.k();
    Workspace ws = Workspace.get();
    ws.pointer(2, (long) m * n);
    ws.buffer(0, (long) m * k).put(0, a, aOff, m * k);
    ws.buffer(1, (long) k * n).put(0, b, bOff, k * n);
    return ws;
  }

  @Override
  public long macs(int[][] in, int[][] out) {
    int k = transA ? in[0][0] : in[0][1];
    return (long) Shapes.size(out[0]) * k;
  }

  @Override
  public String describe() {
    StringBuilder s = new StringBuilder();
    if (transA) s.append("transA ");
    if (transB) s.append("transB ");
    if (alpha != 1f) s.append("alpha=").append(alpha).append(' ');
    if (beta != 1f) s.append("beta=").append(beta).append(' ');
    if (activation != null) s.append(activation.suffix());
    return s.toString().trim();
  }
}

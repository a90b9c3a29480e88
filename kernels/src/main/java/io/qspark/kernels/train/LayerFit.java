package io.qspark.kernels.train;

import io.qspark.kernels.blas.GemmShape;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.Conv;
import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.ops.Op;
import io.qspark.kernels.ops.OpException;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.quant.FakeQuant;
import io.qspark.kernels.tensor.Tensor;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * AdaQuant's inner loop for one layer (a Conv or Gemm with its fused activation): the squared
 * error between the layer on quantized inputs with fake-quantized weights and the float
 * layer's output, and its gradient with respect to the fake-quantized weights and bias. The
 * same backward-filter GEMM as {@link ConvGrad}, fused with the forward pass over one im2col
 * unfolding of several images side by side (one larger GEMM rather than one per image), into
 * preallocated off-heap buffers; the input gradient, which layer-wise tuning never needs, is
 * not computed.
 */
public final class LayerFit {
  private static final int BLOCK = ConvGrad.BLOCK;

  private final Node node;
  private final boolean conv;
  private final ConvGrad convGrad;
  private final GemmGrad gemmGrad;
  private final Activation act;
  private final Op op;

  public LayerFit(Node node) {
    String why = unsupported(node);
    if (why != null) throw new OpException("cannot fine-tune " + node.describe() + ": " + why);
    this.node = node;
    this.conv = node.opType().equals("Conv");
    this.convGrad = conv ? new ConvGrad(node.attributes()) : null;
    this.gemmGrad = conv ? null : new GemmGrad(node.attributes());
    this.act = conv ? convGrad.activation() : gemmGrad.activation();
    this.op = OpRegistry.create(node);
  }

  /** Why a node cannot be tuned layer-wise, or null if it can. */
  public static String unsupported(Node n) {
    if (!n.opType().equals("Conv") && !n.opType().equals("Gemm")) return "only Conv and Gemm layers are tuned";
    Activation a = Activation.fused(n.attributes());
    if (a != null && !ActivationGrad.differentiable(a)) return "fused " + a.opType() + " has no gradient";
    var at = n.attributes();
    if (n.opType().equals("Gemm") && (at.getInt("transA", 0) != 0 || at.getFloat("alpha", 1f) != 1f || at.getFloat("beta", 1f) != 1f)) {
      return "Gemm with transA, alpha or beta";
    }
    return null;
  }

  public Node node() {
    return node;
  }

  /** The quantized layer's output (activation applied) for every image: what its output point sees. */
  public Tensor forward(Tensor x, LayerWeights lw, int[] weightShape) {
    Tensor w = Tensor.of(fake(lw.weight(), lw), weightShape);
    Tensor b = lw.bias() == null ? null : Tensor.of(fakeBias(lw), lw.bias().length);
    return op.forward(b == null ? new Tensor[] {x, w} : new Tensor[] {x, w, b})[0];
  }

  /** The weights the layer computes with: fake-quantized, or as given when there is no quantizer (AdaRound's soft weights). */
  private static float[] fake(float[] w, LayerWeights lw) {
    if (lw.weightQuant() == null) return w;
    float[] q = new float[w.length];
    FakeQuant.apply(lw.weightQuant(), w, q, 0, q.length);
    return q;
  }

  private static float[] fakeBias(LayerWeights lw) {
    float[] q = new float[lw.bias().length];
    FakeQuant.apply(lw.biasQuant(), lw.bias(), q, 0, q.length);
    return q;
  }

  /**
   * Sum over images [from, to) of the squared error sum((act(conv(x, Wq) + bq) - f)^2) and its
   * gradient w.r.t. Wq then bq (straight-through to W is the caller's: it knows the float W).
   */
  public GradientSum.Part gradient(Tensor x, Tensor f, LayerWeights lw, int[] weightShape, int from, int to) {
    float[] wq = fake(lw.weight(), lw);
    float[] bq = lw.bias() == null ? null : fakeBias(lw);
    return conv ? convGradient(x, f, wq, bq, weightShape, from, to) : gemmGradient(x, f, wq, bq, weightShape, from, to);
  }

  /**
   * The same summed exactly into {@code acc}, image by image: each image's gradient is computed
   * on its own, so the total does not depend on which images are processed together.
   */
  public void addGradients(Tensor x, Tensor f, LayerWeights lw, int[] weightShape, int from, int to, ExactGradient acc) {
    int[] images = new int[to - from];
    for (int i = 0; i < images.length; i++) images[i] = from + i;
    addGradients(x, f, lw, weightShape, images, acc);
  }

  /** The same over the given images of the batch. */
  public void addGradients(Tensor x, Tensor f, LayerWeights lw, int[] weightShape, int[] images, ExactGradient acc) {
    float[] wq = fake(lw.weight(), lw);
    float[] bq = lw.bias() == null ? null : fakeBias(lw);
    if (!conv) {
      for (int i : images) acc.add(gemmGradient(x, f, wq, bq, weightShape, i, i + 1));
      return;
    }
    // the weights go off-heap once for all the images; each image's weight gradient is read back
    // as floats and added on the grid as it is, its bias gradient (summed in double) beside it
    Scratch s = Scratch.get();
    s.load(0, wq, 0, wq.length);
    float[] dw = s.heap(2, wq.length);
    double[] db = bq == null ? null : new double[bq.length];
    for (int i : images) {
      if (db != null) java.util.Arrays.fill(db, 0);
      double sse = convCore(x, f, wq.length, bq, weightShape, i, i + 1, db);
      s.buffer(1, wq.length).get(0, dw, 0, wq.length);
      acc.add(dw, wq.length, db, sse, (long) weightShape[0] * f.dim(2) * f.dim(3));
    }
  }

  private GradientSum.Part convGradient(Tensor x, Tensor f, float[] wq, float[] bq, int[] ws, int from, int to) {
    Scratch s = Scratch.get();
    s.load(0, wq, 0, wq.length);
    double[] grad = new double[wq.length + (bq == null ? 0 : bq.length)];
    double[] db = bq == null ? null : new double[bq.length];
    double sse = convCore(x, f, wq.length, bq, ws, from, to, db);
    FloatBuffer dwb = s.buffer(1, wq.length);
    for (int i = 0; i < wq.length; i++) grad[i] = dwb.get(i);
    if (db != null) System.arraycopy(db, 0, grad, wq.length, db.length);
    return new GradientSum.Part(grad, sse, (long) (to - from) * ws[0] * f.dim(2) * f.dim(3));
  }

  /**
   * The squared error over images [from, to) and its gradient: w.r.t. the weights (the weights
   * already in scratch slot 0) into scratch slot 1, w.r.t. the bias added into {@code db}. Heap
   * and off-heap buffers are the thread's scratch, so an image costs no allocation.
   */
  private double convCore(Tensor x, Tensor f, int wlen, float[] bq, int[] ws, int from, int to, double[] db) {
    int c = x.dim(1), h = x.dim(2), wd = x.dim(3);
    int m = ws[0], cg = ws[1], g = convGrad.group(), mg = m / g;
    ConvGeometry geo = convGrad.geometry(ws);
    int[] pads = geo.pads(h, wd);
    int oh = f.dim(2), ow = f.dim(3), p = oh * ow;
    ConvShape shape = new ConvShape(x.shape(), new int[] {x.dim(0), m, oh, ow}, g, geo, pads);
    int k = cg * geo.kh * geo.kw;
    int imgs = Math.max(1, Math.min(to - from, BLOCK / Math.max(1, k * p)));
    Scratch s = Scratch.get();
    FloatPointer wp = s.pointer(0, wlen);
    FloatPointer dwp = s.pointer(1, wlen);
    long colLen = (long) k * imgs * p;
    FloatPointer colP = s.pointer(2, colLen);
    FloatBuffer colB = s.buffer(2, colLen);
    FloatPointer yP = s.pointer(3, (long) mg * imgs * p);
    FloatBuffer yB = s.buffer(3, (long) mg * imgs * p);
    FloatPointer dyP = s.pointer(4, (long) mg * imgs * p);
    FloatBuffer dyB = s.buffer(4, (long) mg * imgs * p);
    float[] col = s.heap(0, (int) colLen);
    float[] y = s.heap(1, mg * imgs * p);
    float[] xd = x.data(), fd = f.data();
    double sse = 0;
    for (int i0 = from; i0 < to; i0 += imgs) {
      int nb = Math.min(imgs, to - i0), ld = nb * p;
      GemmShape forward = GemmShape.of(false, false, mg, ld, k), filter = GemmShape.of(false, true, mg, k, ld);
      // the first block writes each group's slice of the weight gradient (beta 0), later ones add to it
      float beta = i0 == from ? 0f : 1f;
      for (int gi = 0; gi < g; gi++) {
        for (int b = 0; b < nb; b++) {
          Conv.im2col(xd, ((i0 + b) * c + gi * cg) * h * wd, shape, col, b * p, ld);
        }
        colB.put(0, col, 0, k * ld);
        long wOff = (long) gi * mg * k;
        Scratch.sgemm(forward, wp, wOff, colP, 0, 0f, yP, 0);
        yB.get(0, y, 0, mg * ld);
        for (int mi = 0; mi < mg; mi++) {
          int ch = gi * mg + mi;
          float bv = bq == null ? 0f : bq[ch];
          double dbc = 0;
          for (int b = 0; b < nb; b++) {
            int yo = mi * ld + b * p, fo = ((i0 + b) * m + ch) * p;
            sse += errorAndGradient(y, yo, fd, fo, p, bv);
            for (int j = yo; j < yo + p; j++) dbc += y[j];
          }
          if (db != null) db[ch] += dbc;
        }
        dyB.put(0, y, 0, mg * ld);
        Scratch.sgemm(filter, dyP, 0, colP, 0, beta, dwp, wOff);
      }
    }
    return sse;
  }

  /**
   * Turns y[yo, yo + n) from pre-activation accumulators (bias not yet added) into the
   * gradient of the squared error w.r.t. the pre-activation, in place; returns the error.
   */
  private double errorAndGradient(float[] y, int yo, float[] f, int fo, int n, float bias) {
    double sse = 0;
    Activation.Kind kind = act == null ? Activation.Kind.IDENTITY : act.kind();
    float lo = act == null ? 0 : act.lo(), hi = act == null ? 0 : act.hi(), alpha = act == null ? 0 : act.alpha();
    for (int j = 0; j < n; j++) {
      float pre = y[yo + j] + bias;
      float out, slope;
      switch (kind) {
        case RELU:
          out = pre > 0f ? pre : 0f;
          slope = pre > 0f ? 1f : 0f;
          break;
        case CLIP:
          out = Math.min(Math.max(pre, lo), hi);
          slope = pre > lo && pre < hi ? 1f : 0f;
          break;
        case LEAKY_RELU:
          out = pre >= 0f ? pre : pre * alpha;
          slope = pre >= 0f ? 1f : alpha;
          break;
        default:
          out = pre;
          slope = 1f;
      }
      float d = out - f[fo + j];
      sse += (double) d * d;
      y[yo + j] = 2f * d * slope;
    }
    return sse;
  }

  private GradientSum.Part gemmGradient(Tensor x, Tensor f, float[] wq, float[] bq, int[] ws, int from, int to) {
    boolean transB = gemmGrad.transB();
    int k = x.dim(1), n = to - from;
    int m = transB ? ws[0] : ws[1];
    float[] a = java.util.Arrays.copyOfRange(x.data(), from * k, to * k);
    float[] y = Scratch.matmul(false, transB, n, m, k, a, wq);
    double[] grad = new double[wq.length + (bq == null ? 0 : bq.length)];
    double sse = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        sse += errorAndGradient(y, i * m + j, f.data(), (from + i) * m + j, 1, bq == null ? 0f : bq[j]);
        if (bq != null) grad[wq.length + j] += y[i * m + j];
      }
    }
    float[] dw = transB ? Scratch.matmul(true, false, m, k, n, y, a) : Scratch.matmul(true, false, k, m, n, a, y);
    for (int i = 0; i < dw.length; i++) grad[i] = dw[i];
    return new GradientSum.Part(grad, sse, (long) n * m);
  }
}

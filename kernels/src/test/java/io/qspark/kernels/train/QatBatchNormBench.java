package io.qspark.kernels.train;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.QatBatchNorm;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * QAT's BatchNorm forward and backward, the scalar double-sum code it replaced (kept here as
 * the baseline) against the current vector passes, on every QatBatchNorm of resnet_s and mbv2_s
 * with its real inputs for 64 images (one micro-batch), one thread, old and new alternating in
 * each of 9 rounds (the first a warm-up); thread-ms per image and ratios of medians. Writes
 * target/qat-batchnorm-bench.txt too.
 */
@Tag("bench")
class QatBatchNormBench {
  private static final int N = 64, ROUNDS = 9;

  private record Case(QatBatchNorm op, QatBatchNormGrad grad, float epsilon, Activation act, Tensor[] in, Tensor dy) {}

  @Test
  void oldVersusNew() throws IOException {
    StringBuilder out = new StringBuilder();
    for (String model : new String[] {"resnet_s", "mbv2_s"}) {
      List<Case> cases = cases(model);
      List<Double> of = new ArrayList<>(), nf = new ArrayList<>(), ob = new ArrayList<>(), nb = new ArrayList<>();
      double sink = 0;
      for (int round = 0; round < ROUNDS; round++) {
        long t0 = System.nanoTime();
        List<Tensor[]> oldOuts = new ArrayList<>();
        for (Case c : cases) oldOuts.add(Old.forward(c.in, c.epsilon, c.act));
        long t1 = System.nanoTime();
        List<Tensor[]> newOuts = new ArrayList<>();
        for (Case c : cases) newOuts.add(c.op.forward(c.in));
        long t2 = System.nanoTime();
        for (int i = 0; i < cases.size(); i++) {
          Case c = cases.get(i);
          sink += Old.backward(c.in, oldOuts.get(i), c.dy, c.epsilon, c.act)[0].data()[0];
        }
        long t3 = System.nanoTime();
        for (int i = 0; i < cases.size(); i++) {
          Case c = cases.get(i);
          sink += c.grad.backward(c.in, newOuts.get(i), c.dy)[0].data()[0];
        }
        long t4 = System.nanoTime();
        if (round == 0) continue;
        of.add((t1 - t0) / 1e6 / N);
        nf.add((t2 - t1) / 1e6 / N);
        ob.add((t3 - t2) / 1e6 / N);
        nb.add((t4 - t3) / 1e6 / N);
      }
      String line = String.format(Locale.ROOT,
          "| %s | %d | %.3f | %.3f | %.2fx | %.3f | %.3f | %.2fx | %.2fx |%n", model, cases.size(),
          QatBench.median(of), QatBench.median(nf), QatBench.median(of) / QatBench.median(nf),
          QatBench.median(ob), QatBench.median(nb), QatBench.median(ob) / QatBench.median(nb),
          (QatBench.median(of) + QatBench.median(ob)) / (QatBench.median(nf) + QatBench.median(nb)));
      System.out.println(model + " rounds (ms/image old fwd, new fwd, old bwd, new bwd): " + of + " " + nf + " " + ob + " " + nb
          + " (sink " + sink + ")");
      out.append(line);
    }
    String table = "| model | BatchNorms | forward old ms/img | new | speed-up | backward old ms/img | new | speed-up | fwd+bwd |\n"
        + "|---|---|---|---|---|---|---|---|---|\n" + out;
    System.out.print(table);
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target/qat-batchnorm-bench.txt"), table);
  }

  /** Every QatBatchNorm of the model's training graph with its inputs for N training images and a random dy. */
  private static List<Case> cases(String model) throws IOException {
    Graph g = QatGraph.of(Model.load(Shared.model(model + ".onnx")).graph()).batchStatistics();
    Tensor x = Shared.images("train-images-idx3-ubyte.gz", N);
    Map<String, Tensor> values = new Executor(g, 1).run(Map.of(g.inputs().get(0).name(), x), (p, n, v) -> v, true);
    Random r = new Random(5);
    List<Case> cases = new ArrayList<>();
    for (Node n : g.nodes()) {
      if (!n.opType().equals(QatBatchNorm.OP_TYPE)) continue;
      Tensor[] in = new Tensor[n.inputs().size()];
      for (int i = 0; i < in.length; i++) {
        String name = n.input(i);
        in[i] = name.isEmpty() ? null : values.containsKey(name) ? values.get(name) : g.initializers().get(name);
      }
      float[] dy = new float[in[0].size()];
      for (int i = 0; i < dy.length; i++) dy[i] = (float) r.nextGaussian();
      QatBatchNorm op = new QatBatchNorm(n.attributes());
      cases.add(new Case(op, new QatBatchNormGrad(n.attributes()), op.epsilon(), op.activation(), in, Tensor.of(dy, in[0].shape())));
    }
    return cases;
  }

  /** The replaced code: double sums in index order, u/g/pre arrays, per-element double arithmetic. */
  static final class Old {
    static double[] channelStatistics(float[] x, int ci, int n, int c, int inner) {
      double count = (double) n * inner;
      double s = 0;
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) s += x[i];
      }
      double m = s / count, s2 = 0;
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * c + ci) * inner;
        for (int i = base; i < base + inner; i++) {
          double d = x[i] - m;
          s2 += d * d;
        }
      }
      return new double[] {m, s2 / count};
    }

    static void unfold(float[] z, float[] divisor, int c, int n, int channels, int inner, float[] u) {
      for (int ni = 0; ni < n; ni++) {
        int base = (ni * channels + c) * inner;
        if (divisor == null) {
          System.arraycopy(z, base, u, base, inner);
        } else {
          float d = divisor[c];
          for (int i = base; i < base + inner; i++) u[i] = z[i] / d;
        }
      }
    }

    static Tensor[] forward(Tensor[] in, float epsilon, Activation activation) {
      Tensor z = in[0];
      int n = z.dim(0), c = z.dim(1);
      float[] divisor = in.length > 5 && in[5] != null ? in[5].data() : null;
      int inner = z.size() / Math.max(1, n * c);
      float[] zd = z.data(), s = in[1].data(), b = in[2].data();
      float[] y = new float[zd.length];
      float[] mean = new float[c], var = new float[c];
      for (int ci = 0; ci < c; ci++) {
        unfold(zd, divisor, ci, n, c, inner, y);
        double[] st = channelStatistics(y, ci, n, c, inner);
        double m = st[0], v = st[1];
        mean[ci] = (float) m;
        var[ci] = (float) v;
        float mul = QatBatchNorm.mul(s[ci], v, epsilon), off = QatBatchNorm.off(s[ci], b[ci], m, v, epsilon);
        for (int ni = 0; ni < n; ni++) {
          int base = (ni * c + ci) * inner;
          for (int i = base; i < base + inner; i++) y[i] = y[i] * mul + off;
          if (activation != null) activation.apply(y, base, base + inner);
        }
      }
      return new Tensor[] {Tensor.of(y, z.shape()), Tensor.of(mean, c), Tensor.of(var, c)};
    }

    static Tensor[] backward(Tensor[] in, Tensor[] outs, Tensor dyT, float epsilon, Activation activation) {
      Tensor z = in[0];
      int n = z.dim(0), c = z.dim(1);
      int inner = z.size() / Math.max(1, n * c);
      float[] divisor = in.length > 5 && in[5] != null ? in[5].data() : null;
      float[] zd = z.data(), s = in[1].data(), b = in[2].data(), dy = dyT.data();
      float[] mean = outs[1].data(), var = outs[2].data();
      float[] u = new float[zd.length], g = new float[zd.length], pre = activation == null ? null : new float[zd.length];
      float[] gs = new float[c], gb = new float[c], gd = divisor == null ? null : new float[c];
      double m = (double) n * inner;
      for (int ci = 0; ci < c; ci++) {
        unfold(zd, divisor, ci, n, c, inner, u);
        double mu = mean[ci], inv = 1.0 / Math.sqrt((double) var[ci] + epsilon);
        if (activation != null) {
          float mul = QatBatchNorm.mul(s[ci], var[ci], epsilon), off = QatBatchNorm.off(s[ci], b[ci], mu, var[ci], epsilon);
          for (int ni = 0; ni < n; ni++) {
            int base = (ni * c + ci) * inner;
            for (int i = base; i < base + inner; i++) pre[i] = u[i] * mul + off;
            System.arraycopy(dy, base, g, base, inner);
            ActivationGrad.fromInput(activation, pre, g, base, base + inner);
          }
        } else {
          for (int ni = 0; ni < n; ni++) {
            int base = (ni * c + ci) * inner;
            System.arraycopy(dy, base, g, base, inner);
          }
        }
        double sdy = 0, sdyx = 0;
        for (int ni = 0; ni < n; ni++) {
          int base = (ni * c + ci) * inner;
          for (int i = base; i < base + inner; i++) {
            sdy += g[i];
            sdyx += g[i] * ((u[i] - mu) * inv);
          }
        }
        gs[ci] = (float) sdyx;
        gb[ci] = (float) sdy;
        double k = s[ci] * inv, mdy = sdy / m, mdyx = sdyx / m;
        double dd = 0;
        float d = divisor == null ? 1f : divisor[ci];
        for (int ni = 0; ni < n; ni++) {
          int base = (ni * c + ci) * inner;
          for (int i = base; i < base + inner; i++) {
            float du = (float) (k * (g[i] - mdy - (u[i] - mu) * inv * mdyx));
            if (divisor == null) {
              g[i] = du;
            } else {
              g[i] = du / d;
              dd -= g[i] * u[i];
            }
          }
        }
        if (gd != null) gd[ci] = (float) dd;
      }
      Tensor[] r = new Tensor[in.length];
      r[0] = Tensor.of(g, z.shape());
      r[1] = Tensor.of(gs, c);
      r[2] = Tensor.of(gb, c);
      if (gd != null) r[5] = Tensor.of(gd, c);
      return r;
    }
  }
}

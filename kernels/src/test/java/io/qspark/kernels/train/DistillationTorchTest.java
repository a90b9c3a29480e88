package io.qspark.kernels.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.graph.ValueInfo;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distillation loss QAT trains non-classifiers with, and its mix with a classifier's
 * cross-entropy, against PyTorch (Debian's python3-torch, in float64): per-output population
 * variances ({@code torch.var(unbiased=False)}), the summed loss and its gradient at every output
 * by autograd; and the variances merged from parts equal the whole's, bit for bit.
 */
class DistillationTorchTest {
  /** A teacher whose outputs are its inputs: y = a [N, 3] (class scores) and e = b [N, 2, 2]. */
  private static Graph passThrough() {
    return new Graph("t", List.of(new ValueInfo("a", new int[] {-1, 3}), new ValueInfo("b", new int[] {-1, 2, 2})),
        List.of("y", "e"), Map.of(), List.of(new Node("y", "Identity", List.of("a"), List.of("y"), Attributes.empty()),
            new Node("e", "Identity", List.of("b"), List.of("e"), Attributes.empty())));
  }

  private static Tensor rand(Random r, float scale, float shift, int... shape) {
    float[] x = new float[Arrays.stream(shape).reduce(1, (p, q) -> p * q)];
    for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * scale + shift);
    return Tensor.of(x, shape);
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  @SuppressWarnings("unchecked")
  void lossAndGradientsAreTorchs(@TempDir Path dir) throws Exception {
    Path python = Path.of("/usr/bin/python3");
    Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
    Random r = new Random(17);
    int n = 4;
    Tensor fa = rand(r, 2, 0.5f, n, 3), fb = rand(r, 0.1f, -3, n, 2, 2);
    Tensor qa = rand(r, 2, 0.5f, n, 3), qb = rand(r, 0.1f, -3, n, 2, 2);
    int[] labels = {2, 0, 1, 2};
    double w = 0.3;
    Map<String, Tensor> floats = Map.of("a", fa, "b", fb);
    Map<String, Tensor> q = new LinkedHashMap<>();
    q.put("y", qa);
    q.put("e", qb);
    Map<String, Double> v = DistillationLoss.variances(passThrough(), floats);
    DistillationLoss d = new DistillationLoss(passThrough(), v);
    QatLoss.Batch batch = new QatLoss.Batch(floats, labels);
    QatLoss.Value dv = d.evaluate(batch, q);
    QatLoss.Value mv = QatLoss.mixed(new CrossEntropyLoss("y"), d, w).evaluate(batch, q);

    Path script = dir.resolve("peer.py");
    Files.writeString(script, String.join("\n",
        "import json, sys, torch",
        "import torch.nn.functional as F",
        "d = json.load(open(sys.argv[1]))",
        "t = lambda k, s: torch.tensor(d[k], dtype=torch.float64).reshape(s)",
        "fa, fb = t('fa', (4, 3)), t('fb', (4, 2, 2))",
        "qa, qb = t('qa', (4, 3)).requires_grad_(), t('qb', (4, 2, 2)).requires_grad_()",
        "va, vb = torch.var(fa, unbiased=False), torch.var(fb, unbiased=False)",
        // per image the mean squared error over the output's values, over its variance; summed over images and outputs
        "dist = ((qa - fa) ** 2).mean(dim=1).sum() / va + ((qb - fb) ** 2).mean(dim=(1, 2)).sum() / vb",
        "ce = F.cross_entropy(qa, torch.tensor(d['labels']), reduction='sum')",
        "out = {'va': va.item(), 'vb': vb.item()}",
        "for name, loss in (('d', dist), ('m', (1 - d['w']) * ce + d['w'] * dist)):",
        "    ga, gb = torch.autograd.grad(loss, (qa, qb), retain_graph=True)",
        "    out[name] = loss.item(); out[name + '_ga'] = ga.flatten().tolist(); out[name + '_gb'] = gb.flatten().tolist()",
        "print(json.dumps(out))", ""));
    Map<String, Object> in = new LinkedHashMap<>();
    in.put("fa", floats(fa));
    in.put("fb", floats(fb));
    in.put("qa", floats(qa));
    in.put("qb", floats(qb));
    in.put("labels", Arrays.stream(labels).boxed().toList());
    in.put("w", w);
    Path json = dir.resolve("in.json");
    Files.writeString(json, Json.write(in));
    Process p = new ProcessBuilder(python.toString(), script.toString(), json.toString()).redirectErrorStream(true).start();
    String got = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    Assumptions.assumeTrue(p.waitFor() == 0 || !got.contains("No module named 'torch'"), "no PyTorch: " + got);
    assertEquals(0, p.exitValue(), got);
    String last = got.strip().lines().reduce((a, b) -> b).orElseThrow();
    Map<String, Object> peer = (Map<String, Object>) Json.read(last);

    assertEquals(num(peer, "va"), v.get("y"), 1e-12 * num(peer, "va"));
    assertEquals(num(peer, "vb"), v.get("e"), 1e-12 * num(peer, "vb"));
    assertEquals(num(peer, "d"), dv.sum(), 1e-9 * num(peer, "d"));
    assertEquals(num(peer, "m"), mv.sum(), 1e-6 * num(peer, "m"));
    assertArrayEquals(list(peer, "d_ga"), dv.gradients().get("y").data(), 1e-5f);
    assertArrayEquals(list(peer, "d_gb"), dv.gradients().get("e").data(), 1e-4f);
    assertArrayEquals(list(peer, "m_ga"), mv.gradients().get("y").data(), 1e-5f);
    assertArrayEquals(list(peer, "m_gb"), mv.gradients().get("e").data(), 1e-4f);
  }

  /** Moments merged from any split of the values are the whole's, to the bit; the variance is the population one. */
  @Test
  void momentsMergeExactly() {
    Random r = new Random(5);
    float[] x = new float[1001];
    for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 1e-3 + 1e3 * (i % 7 == 0 ? -1 : 1));
    OutputMoments whole = new OutputMoments().add("o", x);
    OutputMoments parts = new OutputMoments();
    for (int from = 0; from < x.length; from += 97) {
      parts = new OutputMoments().add("o", Arrays.copyOfRange(x, from, Math.min(x.length, from + 97))).merge(parts);
    }
    assertEquals(whole.variances().get("o"), parts.variances().get("o"));
    assertEquals(whole.means().get("o"), parts.means().get("o"));
    // hand: 1, 2, 3, 4 -> mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    assertEquals(1.25, new OutputMoments().add("h", new float[] {1, 2}).merge(new OutputMoments().add("h", new float[] {3, 4}))
        .variances().get("h"));
    assertThrows(IllegalArgumentException.class, () -> new OutputMoments().add("n", new float[] {Float.NaN}));
    assertThrows(IllegalArgumentException.class, () -> QatLoss.mixed(new CrossEntropyLoss("y"), new CrossEntropyLoss("y"), 1.5));
  }

  private static List<Double> floats(Tensor t) {
    List<Double> l = new java.util.ArrayList<>();
    for (float f : t.data()) l.add((double) f);
    return l;
  }

  private static double num(Map<String, Object> m, String k) {
    return ((Number) m.get(k)).doubleValue();
  }

  private static float[] list(Map<String, Object> m, String k) {
    List<?> l = (List<?>) m.get(k);
    float[] r = new float[l.size()];
    for (int i = 0; i < r.length; i++) r[i] = ((Number) l.get(i)).floatValue();
    return r;
  }
}

package io.qspark.kernels.passes;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization", arXiv:1906.04721) on
 * the inference graph (BatchNorm folded, activations fused). For two convs A → B where A's
 * output feeds only B through a positively homogeneous activation f (f(s·x) = s·f(x) for s > 0:
 * none, ReLU, LeakyReLU), output channel c of A is divided by s_c and input channel c of B
 * multiplied by it, with s_c = sqrt(r_A[c] / r_B[c]) (r = the channel's max |w|), which gives
 * both channels the range sqrt(r_A·r_B). The float function is unchanged up to rounding;
 * per-tensor weight quantization then wastes less of its range on a few wide channels. Chains
 * (conv → depthwise → pointwise) share layers between pairs, so pairs are swept until every
 * scale is within {@link #TOLERANCE} of 1.
 *
 * <p>Skipped, because rescaling would change the function: a first layer whose output also feeds
 * anything else (a residual Add, a second branch, a graph output), a weight or bias shared with
 * another node or not constant, and ReLU6 (Clip[0,6]: clip(x/s, 0, 6) ≠ clip(x, 0, 6)/s). For
 * ReLU6 the caller chooses: {@link Relu6#KEEP} skips those pairs (the function is exactly
 * preserved), {@link Relu6#TO_RELU} does what Vitis AI does with CLE on, replaces the ReLU6 of
 * each such first layer by ReLU and equalizes, which changes the float model wherever a
 * pre-activation exceeded 6. High-bias absorption is not done.
 */
public final class CrossLayerEqualization {
  /** Sweeps stop when every scale of a sweep is within this of 1. */
  public static final double TOLERANCE = 1e-6;
  /** A bound on sweeps; long chains converge geometrically well before it. */
  public static final int MAX_SWEEPS = 500;

  public enum Relu6 { KEEP, TO_RELU }

  /** Two layers equalized together, by node name. */
  public record Pair(String first, String second) {}

  /**
   * @param pairs the equalized pairs in topological order
   * @param skipped conv → conv links left alone, each with the reason
   * @param relu6Replaced first layers whose ReLU6 became ReLU ({@link Relu6#TO_RELU})
   * @param sweeps sweeps until convergence
   */
  public record Result(Graph graph, List<Pair> pairs, List<String> skipped, List<String> relu6Replaced, int sweeps) {}

  private CrossLayerEqualization() {}

  public static Result apply(Graph g, Relu6 relu6) {
    Map<String, Tensor> inits = g.initializers();
    Map<String, Integer> uses = new LinkedHashMap<>();
    for (Node n : g.nodes()) for (String in : n.inputs()) uses.merge(in, 1, Integer::sum);
    List<Node[]> links = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    List<String> replaced = new ArrayList<>();
    for (Node a : g.nodes()) {
      if (!a.opType().equals("Conv")) continue;
      String out = a.outputs().get(0);
      List<Node> readers = g.consumers(out);
      Node b = readers.size() == 1 && readers.get(0).opType().equals("Conv") && readers.get(0).input(0).equals(out)
          ? readers.get(0) : null;
      if (b == null) {
        if (readers.stream().anyMatch(r -> r.opType().equals("Conv"))) {
          skipped.add(a.name() + ": its output also feeds " + describe(readers, out, g));
        }
        continue;
      }
      String why = reasonToSkip(a, b, g, inits, uses, relu6);
      if (why != null) {
        skipped.add(a.name() + " -> " + b.name() + ": " + why);
        continue;
      }
      links.add(new Node[] {a, b});
    }
    if (links.isEmpty()) return new Result(g, List.of(), skipped, List.of(), 0);

    Map<String, double[]> work = new LinkedHashMap<>();
    for (Node[] l : links) {
      for (Node n : l) {
        work.computeIfAbsent(n.input(1), k -> toDouble(inits.get(k)));
        if (n.hasInput(2)) work.computeIfAbsent(n.input(2), k -> toDouble(inits.get(k)));
      }
    }
    int sweeps = 0;
    double worst = Double.POSITIVE_INFINITY;
    while (worst > TOLERANCE && sweeps < MAX_SWEEPS) {
      worst = 0;
      for (Node[] l : links) worst = Math.max(worst, equalize(l[0], l[1], inits, work));
      sweeps++;
    }

    Map<String, Tensor> newInits = new LinkedHashMap<>(inits);
    work.forEach((name, v) -> newInits.put(name, toFloat(v, inits.get(name).shape())));
    List<Node> nodes = new ArrayList<>();
    for (Node n : g.nodes()) {
      Activation act = Activation.fused(n.attributes());
      boolean first = links.stream().anyMatch(l -> l[0] == n);
      if (first && act != null && isRelu6(act)) {
        nodes.add(new Node(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), asRelu(n.attributes())));
        replaced.add(n.name());
      } else {
        nodes.add(n);
      }
    }
    List<Pair> pairs = new ArrayList<>();
    for (Node[] l : links) pairs.add(new Pair(l[0].name(), l[1].name()));
    return new Result(g.withNodes(nodes, newInits), pairs, skipped, replaced, sweeps);
  }

  /** Why a → b cannot be equalized without changing the function, or null. */
  private static String reasonToSkip(Node a, Node b, Graph g, Map<String, Tensor> inits, Map<String, Integer> uses,
      Relu6 relu6) {
    if (g.outputs().contains(a.outputs().get(0))) return "the first output is a graph output";
    for (Node n : new Node[] {a, b}) {
      for (int i = 1; i <= 2; i++) {
        if (!n.hasInput(i)) continue;
        if (!inits.containsKey(n.input(i))) return n.name() + "'s " + (i == 1 ? "weight" : "bias") + " is not constant";
        if (uses.get(n.input(i)) > 1) return n.name() + "'s " + (i == 1 ? "weight" : "bias") + " is shared";
      }
      if (inits.get(n.input(1)).rank() != 4) return n.name() + " is not a 2-D conv";
    }
    Activation act = Activation.fused(a.attributes());
    if (act == null || act.kind() == Activation.Kind.RELU || act.kind() == Activation.Kind.LEAKY_RELU) return null;
    if (act.kind() == Activation.Kind.CLIP && homogeneous(act.lo()) && homogeneous(act.hi())) return null;
    if (isRelu6(act) && relu6 == Relu6.TO_RELU) return null;
    return "activation " + act.suffix().substring(1) + " is not positively homogeneous"
        + (isRelu6(act) ? " (ReLU6: equalizing it means replacing it by ReLU, as Vitis AI does)" : "");
  }

  private static boolean homogeneous(float bound) {
    return bound == 0f || Float.isInfinite(bound);
  }

  private static boolean isRelu6(Activation act) {
    return act.kind() == Activation.Kind.CLIP && act.lo() == 0f && act.hi() == 6f;
  }

  private static Attributes asRelu(Attributes a) {
    Map<String, Object> m = new LinkedHashMap<>(a.asMap());
    m.remove(Activation.FUSED_MIN);
    m.remove(Activation.FUSED_MAX);
    m.put(Activation.FUSED, "Relu");
    return new Attributes(m);
  }

  private static String describe(List<Node> readers, String value, Graph g) {
    List<String> names = new ArrayList<>();
    for (Node r : readers) names.add(r.describe());
    if (g.outputs().contains(value)) names.add("a graph output");
    return String.join(", ", names);
  }

  /**
   * One equalization step of a pair on the working weights; returns max |s - 1| over channels.
   * A's weight is [C, *] (output channel c = row c, whatever its group); B's input channel c is
   * column c % icPerGroup of the output channels of group c / icPerGroup.
   */
  private static double equalize(Node a, Node b, Map<String, Tensor> inits, Map<String, double[]> work) {
    double[] wa = work.get(a.input(1));
    double[] ba = a.hasInput(2) ? work.get(a.input(2)) : null;
    double[] wb = work.get(b.input(1));
    int[] sa = inits.get(a.input(1)).shape();
    int[] sb = inits.get(b.input(1)).shape();
    int channels = sa[0];
    int rowA = wa.length / channels;
    int ocB = sb[0], icpg = sb[1], k = sb[2] * sb[3];
    int groups = (int) b.attributes().getInt("group", 1);
    int ocpg = ocB / groups;
    double worst = 0;
    for (int c = 0; c < channels; c++) {
      double r1 = 0;
      for (int i = c * rowA; i < (c + 1) * rowA; i++) r1 = Math.max(r1, Math.abs(wa[i]));
      int grp = c / icpg, col = c % icpg;
      double r2 = 0;
      for (int o = grp * ocpg; o < (grp + 1) * ocpg; o++) {
        int base = (o * icpg + col) * k;
        for (int i = base; i < base + k; i++) r2 = Math.max(r2, Math.abs(wb[i]));
      }
      if (r1 == 0 || r2 == 0) continue; // a dead channel: nothing to balance
      double s = Math.sqrt(r1 / r2);
      for (int i = c * rowA; i < (c + 1) * rowA; i++) wa[i] /= s;
      if (ba != null) ba[c] /= s;
      for (int o = grp * ocpg; o < (grp + 1) * ocpg; o++) {
        int base = (o * icpg + col) * k;
        for (int i = base; i < base + k; i++) wb[i] *= s;
      }
      worst = Math.max(worst, Math.abs(s - 1));
    }
    return worst;
  }

  private static double[] toDouble(Tensor t) {
    float[] f = t.data();
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) d[i] = f[i];
    return d;
  }

  private static Tensor toFloat(double[] d, int[] shape) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
    return Tensor.of(f, shape);
  }
}

package io.qspark.kernels.quant;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.exec.TensorObserver;
import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.ops.Op;
import io.qspark.kernels.ops.OpRegistry;
import io.qspark.kernels.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Empirical bias correction (Nagel et al. 2019, section 4.2): quantizing a layer's weights
 * shifts the mean of its pre-activation output by E[(W_q − W)·x] per output channel, x being
 * what the layer reads in the quantized model; subtracting that from the bias removes the
 * shift. The expectation is taken over calibration images and all output positions (N, H, W),
 * as Vitis AI does; weights stay as they are.
 *
 * <p>Layers are corrected in waves in topological order: a layer's x depends on the biases of
 * the layers before it, so each wave is measured on the model with every earlier wave already
 * corrected (one data pass per wave; layers in one wave do not feed each other). Correcting all
 * at once would measure every layer on uncorrected inputs, whose mean shift is exactly what the
 * upstream corrections remove.
 */
public final class BiasCorrection {
  private BiasCorrection() {}

  /** Measures one wave: the sums of (W_q − W)·x for its layers on the model as corrected so far. */
  @FunctionalInterface
  public interface Measure {
    ChannelSums measure(Graph corrected, QuantPlan plan, QuantParams params, Set<String> wave, int index, int waves);
  }

  /**
   * Every wave corrected in turn: each measured (by {@code measure}, locally or as a Spark job)
   * on the graph with all earlier waves' biases corrected and quantized with {@code calibrated}'s
   * activation fix_points.
   */
  public static Graph correct(Graph g, QuantPlan plan, QuantParams calibrated, QuantConfig cfg, Measure measure) {
    List<Set<String>> waves = waves(g, plan);
    Graph current = g;
    for (int w = 0; w < waves.size(); w++) {
      QuantParams p = paramsFor(current, plan, calibrated, cfg);
      current = corrected(current, measure.measure(current, plan, p, waves.get(w), w, waves.size()).means());
    }
    return current;
  }

  /** Measurement in this JVM over one tensor of images, in batches of {@code batch}. */
  public static Measure local(Tensor images, int batch) {
    return (g, plan, params, wave, index, count) -> {
      ChannelSums sums = new ChannelSums();
      Measurement m = new Measurement(g, new QuantizedModel(g, plan, params), wave, sums);
      String in = g.inputs().get(0).name();
      for (int i = 0; i < images.dim(0); i += batch) m.run(in, images.slice0(i, Math.min(images.dim(0), i + batch)));
      return sums;
    };
  }

  /** Conv/Gemm layers with a quantized weight and an own constant bias, grouped into waves. */
  public static List<Set<String>> waves(Graph g, QuantPlan plan) {
    Map<String, Integer> uses = new HashMap<>();
    for (Node n : g.nodes()) for (String in : n.inputs()) uses.merge(in, 1, Integer::sum);
    Set<String> weights = new java.util.HashSet<>();
    for (QuantPlan.ParamPoint p : plan.params()) weights.add(p.name());
    Map<String, Integer> depth = new HashMap<>();
    List<Set<String>> waves = new ArrayList<>();
    for (Node n : g.nodes()) {
      int d = 0;
      for (String in : n.inputs()) d = Math.max(d, depth.getOrDefault(in, 0));
      boolean layer = (n.opType().equals("Conv") || n.opType().equals("Gemm")) && weights.contains(n.input(1))
          && n.hasInput(2) && weights.contains(n.input(2)) && uses.get(n.input(2)) == 1
          && g.initializers().get(n.input(2)).size() == outputChannels(g, n);
      if (layer) {
        while (waves.size() <= d) waves.add(new LinkedHashSet<>());
        waves.get(d).add(n.name());
      }
      for (String o : n.outputs()) depth.put(o, layer ? d + 1 : d);
    }
    return waves;
  }

  private static int outputChannels(Graph g, Node n) {
    Tensor w = g.initializers().get(n.input(1));
    if (n.opType().equals("Conv")) return w.dim(0);
    return n.attributes().getInt("transB", 0) != 0 ? w.dim(0) : w.dim(1);
  }

  /**
   * Collects, for the layers named in {@code layers}, the per-channel sums of (W_q − W)·x over
   * the batches run through the returned executor and observer, x being the layer's input in
   * the fake-quantized model. The model runs only as far as those layers' inputs.
   */
  public static final class Measurement {
    private final Executor executor;
    private final TensorObserver observer;

    public Measurement(Graph floatGraph, QuantizedModel qm, Set<String> layers, ChannelSums sums) {
      Map<String, List<Node>> byInput = new LinkedHashMap<>();
      Map<String, Op> deltaOps = new HashMap<>();
      Map<String, Tensor> deltas = new HashMap<>();
      List<String> needed = new ArrayList<>();
      for (Node n : floatGraph.nodes()) {
        if (!layers.contains(n.name())) continue;
        byInput.computeIfAbsent(n.input(0), k -> new ArrayList<>()).add(n);
        if (!needed.contains(n.input(0))) needed.add(n.input(0));
        float[] w = floatGraph.initializers().get(n.input(1)).data();
        float[] wq = qm.graph().initializers().get(n.input(1)).data();
        float[] d = new float[w.length];
        for (int i = 0; i < d.length; i++) d[i] = wq[i] - w[i];
        deltas.put(n.name(), Tensor.of(d, floatGraph.initializers().get(n.input(1)).shape()));
        // the layer's own op on (x, ΔW): no bias, no activation, the pre-activation change
        deltaOps.put(n.name(), OpRegistry.create(new Node(n.name(), n.opType(), n.domain(),
            List.of(n.input(0), n.input(1)), List.of(n.outputs().get(0)), linear(n.attributes()))));
      }
      if (deltas.size() != layers.size()) throw new IllegalArgumentException("not all of " + layers + " are in the graph");
      Graph q = qm.graph();
      boolean inputsOnly = needed.stream().allMatch(q::isInput);
      // the graph up to the inputs the layers read (a graph input alone needs no node)
      Graph upTo = inputsOnly ? null : new Graph(q.name(), q.inputs(), needed.stream().filter(v -> !q.isInput(v)).toList(),
          q.initializers(), q.nodes(), q.batchChunk()).pruned();
      this.executor = upTo == null ? null : new Executor(upTo);
      TensorObserver quantize = qm.fakeQuant();
      this.observer = (node, name, value) -> {
        Tensor x = quantize.onValue(node, name, value);
        List<Node> readers = byInput.get(name);
        if (readers != null) {
          for (Node r : readers) {
            Tensor y = deltaOps.get(r.name()).forward(new Tensor[] {x, deltas.get(r.name())})[0];
            sums.add(r.name(), y.data(), y.dim(0), y.dim(1));
          }
        }
        return x;
      };
    }

    /** One batch through the model; the sums grow by its values. */
    public void run(String input, Tensor batch) {
      if (executor == null) {
        observer.onValue(null, input, batch);
      } else {
        executor.run(Map.of(input, batch), observer, false);
      }
    }
  }

  private static Attributes linear(Attributes a) {
    Map<String, Object> m = new LinkedHashMap<>(a.asMap());
    m.keySet().removeIf(k -> k.startsWith(Activation.FUSED));
    return new Attributes(m);
  }

  /** The graph with each named layer's bias lowered by its measured mean shift. */
  public static Graph corrected(Graph g, Map<String, double[]> shifts) {
    Map<String, Tensor> inits = new LinkedHashMap<>(g.initializers());
    for (Node n : g.nodes()) {
      double[] s = shifts.get(n.name());
      if (s == null) continue;
      Tensor b = inits.get(n.input(2));
      float[] v = b.data().clone();
      for (int c = 0; c < v.length; c++) v[c] = (float) (v[c] - s[c]);
      inits.put(n.input(2), Tensor.of(v, b.shape()));
    }
    return g.withNodes(g.nodes(), inits);
  }

  /**
   * The fix_points to measure a wave with: the calibration's activation decisions, the weights'
   * and (possibly corrected) biases' own fix_points, legalized again.
   */
  public static QuantParams paramsFor(Graph corrected, QuantPlan plan, QuantParams calibrated, QuantConfig cfg) {
    return QuantParams.legalized(corrected, plan, calibrated.activations(), QuantParams.paramQuantizers(corrected, plan, cfg), cfg);
  }
}
